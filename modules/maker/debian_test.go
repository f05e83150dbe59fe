package maker

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mode-build/mode/modules/chroot"
	"github.com/mode-build/mode/modules/debian"
)

func writeStatus(t *testing.T, root, status string) {
	t.Helper()
	p := filepath.Join(root, debian.StatusFile)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPackages(t *testing.T) {
	const a = "Package: a\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n\n"
	const b = "Package: b\nStatus: install ok installed\nArchitecture: all\nVersion: 2\n\n"
	const a2 = "Package: a\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.1\n\n"
	lower, upper, none := t.TempDir(), t.TempDir(), t.TempDir()
	writeStatus(t, lower, a+b)
	writeStatus(t, upper, a2)
	mk := &Maker{}
	for _, tc := range []struct {
		name, lower, root string
		want              string // added/removed/upgraded counts, or "nil"
	}{
		{"base", "", lower, "2/0/0"},
		{"change", lower, upper, "0/1/1"},
		{"nothing changed", lower, lower, "nil"},
		{"no dpkg at all", "", none, "nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := mk.packages(tc.lower, tc.root)
			if err != nil {
				t.Fatal(err)
			}
			got := "nil"
			if p != nil {
				got = fmt.Sprintf("%d/%d/%d", len(p.Added), len(p.Removed), len(p.Upgraded))
			}
			if got != tc.want {
				t.Errorf("packages = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestAptBinds(t *testing.T) {
	t.Setenv("MODE_CACHE", t.TempDir())
	cache, _ := debian.CacheDir()
	binds := (&Maker{}).aptBinds()
	want := []chroot.Bind{{Source: cache, Target: debian.ChrootCache}}
	if len(binds) != 1 || binds[0] != want[0] {
		t.Errorf("aptBinds = %+v, want %+v", binds, want)
	}
	if fi, err := os.Stat(debian.Archives(cache)); err != nil || !fi.IsDir() {
		t.Errorf("the cache's archives were not made: %v", err)
	}
}
