package netboot

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mode-build/mode/boot/initramfs"
)

// TestBuildKey: the key of a chain kernel's initramfs changes with the bytes
// of mode (the init), of each more file and with the compressor and its level, and with
// nothing else; options that carry kernel modules have none.
func TestBuildKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mode, key := write("mode", "mode v1"), write("key.pub", "key 1")
	opts := initramfs.Options{Mode: mode, Files: []initramfs.File{{Source: key, Name: "etc/mode/trusted/key.pub", Mode: 0o644}}}
	k1, err := buildKey(opts)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := buildKey(opts); again != k1 {
		t.Errorf("the same inputs: %s, then %s", k1, again)
	}
	write("mode", "mode v2")
	k2, _ := buildKey(opts)
	write("key.pub", "key 2")
	k3, _ := buildKey(opts)
	opts.Compress = "gzip"
	k4, _ := buildKey(opts)
	opts.Compress, opts.ZstdLevel = "zstd", 3
	k5, _ := buildKey(opts)
	opts.ZstdLevel = 19
	k6, _ := buildKey(opts)
	for i, k := range []string{k2, k3, k4, k5, k6} {
		for _, before := range []string{k1, k2, k3, k4, k5, k6}[:i+1] {
			if k == before {
				t.Errorf("change %d left the key %s", i+1, k)
			}
		}
	}
	opts.KernelModules = "/lib/modules/x"
	if _, err := buildKey(opts); err == nil {
		t.Error("options with kernel modules: a key")
	}
	opts.KernelModules, opts.Mode = "", filepath.Join(dir, "absent")
	if _, err := buildKey(opts); err == nil {
		t.Error("an absent mode binary: a key")
	}
}
