package modules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// keys returns every module's key with salt.
func keys(t *testing.T, h *Hierarchy, salt string) map[string]string {
	t.Helper()
	ks := map[string]string{}
	for _, n := range h.Names() {
		k, err := h.Key(n, salt)
		if err != nil {
			t.Fatalf("Key(%s): %v", n, err)
		}
		if !strings.HasPrefix(k, "sha256:") || len(k) != len("sha256:")+64 {
			t.Fatalf("Key(%s) = %q, want sha256:<64 hex>", n, k)
		}
		ks[n] = k
	}
	return ks
}

// changed returns the sorted names whose key differs between a and b.
func changed(a, b map[string]string) []string {
	var names []string
	for _, n := range []string{"base", "conf", "console", "essential", "extra"} {
		if a[n] != b[n] {
			names = append(names, n)
		}
	}
	return names
}

func TestKey(t *testing.T) {
	tests := []struct {
		name string
		edit func(t *testing.T, dir string)
		want []string // modules whose key changes
	}{
		{"nothing", func(*testing.T, string) {}, nil},
		{"copied file bytes", func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{"files/motd": "hello, world\n"})
		}, []string{"console"}},
		{"copied file mode", func(t *testing.T, dir string) {
			if err := os.Chmod(filepath.Join(dir, "files/motd"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"console"}},
		{"file in a copied directory", func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{"files/skel/.profile": "x\n"})
		}, []string{"conf", "extra"}},
		{"symlink target in a copied directory", func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{"files/skel/link": "->.profile"})
		}, []string{"conf", "extra"}},
		{"base from tree", func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{"rootfs/etc/hostname": "other\n"})
		}, []string{"base", "console", "essential", "extra"}},
		{"base definition", func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{"base.yaml": "name: base\nfrom: {dir: rootfs}\nexclude: [/tmp]\n"})
		}, []string{"base", "console", "essential", "extra"}},
		{"run step", func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{"essential.yaml": "name: essential\nparent: base\npackages: [less]\nrun: [true]\n"})
		}, []string{"console", "essential", "extra"}},
		{"comments and key order do not count", func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{"essential.yaml": "# essential\nparent: base\npackages:\n  - less\nname: essential\n"})
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, dir := loadGood(t, nil)
			before := keys(t, h, "zstd")
			tt.edit(t, dir)
			after := keys(t, reload(t, dir, nil), "zstd")
			got := changed(before, after)
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("changed keys = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestKeySaltAndMemo(t *testing.T) {
	h, dir := loadGood(t, nil)
	z, x := keys(t, h, "zstd"), keys(t, h, "xz")
	if got := changed(z, x); len(got) != 5 {
		t.Errorf("salt changed the keys of %v, want all five", got)
	}
	// Memoized: an edit is seen only after Load.
	writeFiles(t, dir, map[string]string{"files/motd": "edited\n"})
	if got := changed(z, keys(t, h, "zstd")); got != nil {
		t.Errorf("memoized keys changed for %v", got)
	}
	if got := changed(z, keys(t, reload(t, dir, nil), "zstd")); len(got) != 1 {
		t.Errorf("after Load, changed keys = %v, want [console]", got)
	}
	if _, err := h.Key("nosuch", "zstd"); err == nil {
		t.Error("Key(nosuch) succeeded")
	}
}

func TestKeyFromHost(t *testing.T) {
	host := filepath.Join(t.TempDir(), "busybox")
	writeFiles(t, filepath.Dir(host), map[string]string{"busybox": "v1"})
	h, dir := loadGood(t, map[string]string{"base.yaml": "name: base\nfrom: {dir: rootfs, host: [" + host + "]}\n"})
	before := keys(t, h, "")
	writeFiles(t, filepath.Dir(host), map[string]string{"busybox": "v2"})
	if got := changed(before, keys(t, reload(t, dir, nil), "")); strings.Join(got, ",") != "base,console,essential,extra" {
		t.Errorf("changed keys = %v, want all but conf", got)
	}
}

func TestKeyFromFile(t *testing.T) {
	h, dir := loadGood(t, map[string]string{
		"rootfs.tar": "tar bytes",
		"base.yaml":  "name: base\nfrom: {tar: rootfs.tar}\n",
	})
	before := keys(t, h, "")
	writeFiles(t, dir, map[string]string{"rootfs.tar": "other tar bytes"})
	if got := changed(before, keys(t, reload(t, dir, nil), "")); strings.Join(got, ",") != "base,console,essential,extra" {
		t.Errorf("changed keys = %v, want all but conf", got)
	}
}
