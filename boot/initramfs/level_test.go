package initramfs_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/mode-build/mode/boot/initramfs"
)

// TestZstdLevel: a zstd level other than the default is deterministic (two
// builds, the same bytes), says which it is, and holds the same archive as
// another level; a level zstd lacks is refused before any work.
func TestZstdLevel(t *testing.T) {
	o := options(t)
	o.Compress = "zstd"
	o.KernelModules = filepath.Join(filepath.Dir(o.KernelModules), "root")
	o.Init, o.Mode = initramfs.HostBusybox, ""
	raw := func(b []byte) []byte {
		zr, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		out, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	o.ZstdLevel = 1
	one, _ := build(t, o)
	o.ZstdLevel = 3
	a, res := build(t, o)
	b, _ := build(t, o)
	if !bytes.Equal(a, b) {
		t.Errorf("two builds at level 3 differ (%d and %d bytes)", len(a), len(b))
	}
	if !strings.HasPrefix(res.Compressor, "zstd") || strings.HasPrefix(res.Compressor, "zstd -") && res.Compressor != "zstd -3" {
		t.Errorf("compressor %q, want zstd -3", res.Compressor)
	}
	if !bytes.Equal(raw(a), raw(one)) {
		t.Error("levels 3 and 1 hold different archives")
	}
	o.ZstdLevel = 20
	if _, err := initramfs.Build(context.Background(), o, io.Discard); err == nil || !strings.Contains(err.Error(), "zstd level 20") {
		t.Errorf("level 20: %v", err)
	}
}
