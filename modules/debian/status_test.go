package debian

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mode-build/mode/layers"
)

func readTestStatus(t *testing.T, name string) Installed {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inst, err := ParseStatus(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return inst
}

func TestParseStatus(t *testing.T) {
	got := readTestStatus(t, "status-after")
	want := Installed{
		"apt:amd64":        "2.6.1+deb12u9",
		"base-files:amd64": "12.4+deb12u15",
		"bsdutils:amd64":   "1:2.38.1-5+deb12u3",
		"libc6:amd64":      "2.36-9+deb12u14",
		"libc6:i386":       "2.36-9+deb12u14",
		"less:amd64":       "590-2.1~deb12u2",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseStatus (-want +got):\n%s", diff)
	}
}

func TestParseStatusErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"no package", "Status: install ok installed\nVersion: 1\n", "line 1: stanza without Package"},
		{"no version", "Package: a\nStatus: install ok installed\n\nPackage: b\nStatus: install ok installed\n", "line 1: package a: installed without Version"},
		{"not a field", "Package: a\nrubbish\n", `line 2: "rubbish" is not a field`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseStatus(strings.NewReader(tc.in))
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestReadStatus(t *testing.T) {
	t.Run("empty root", func(t *testing.T) {
		inst, err := ReadStatus("")
		if err != nil || len(inst) != 0 {
			t.Errorf("ReadStatus(\"\") = %v, %v; want none", inst, err)
		}
	})
	t.Run("no dpkg", func(t *testing.T) {
		inst, err := ReadStatus(t.TempDir())
		if err != nil || len(inst) != 0 {
			t.Errorf("ReadStatus(empty dir) = %v, %v; want none", inst, err)
		}
	})
	t.Run("broken names the file", func(t *testing.T) {
		root := t.TempDir()
		path := filepath.Join(root, StatusFile)
		os.MkdirAll(filepath.Dir(path), 0o755)
		os.WriteFile(path, []byte("garbage\n"), 0o644)
		_, err := ReadStatus(root)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("error %v does not name %s", err, path)
		}
	})
}

func TestDiff(t *testing.T) {
	before := readTestStatus(t, "status-before")
	after := readTestStatus(t, "status-after")
	got := Diff(before, after)
	want := &layers.Packages{
		Added: []layers.Package{
			{Name: "less", Version: "590-2.1~deb12u2"},
			{Name: "libc6:i386", Version: "2.36-9+deb12u14"},
		},
		Removed: []layers.Package{
			{Name: "mawk", Version: "1.3.4.20200120-3.1"},
			{Name: "tzdata", Version: "2026f-0+deb12u1"},
		},
		Upgraded: []layers.Package{
			{Name: "apt", Version: "2.6.1+deb12u9", From: "2.6.2"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Diff (-want +got):\n%s", diff)
	}
	t.Run("base", func(t *testing.T) {
		got := Diff(Installed{}, before)
		if len(got.Added) != len(before) || got.Removed != nil || got.Upgraded != nil {
			t.Errorf("Diff(none, before) = %+v, want all %d added", got, len(before))
		}
		for i := 1; i < len(got.Added); i++ {
			if got.Added[i-1].Name >= got.Added[i].Name {
				t.Errorf("not sorted: %s before %s", got.Added[i-1].Name, got.Added[i].Name)
			}
		}
	})
}
