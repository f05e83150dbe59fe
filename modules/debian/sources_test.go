package debian

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadSources(t *testing.T) {
	got, err := ReadSources(filepath.Join("testdata", "apt"))
	if err != nil {
		t.Fatal(err)
	}
	key := "/usr/share/keyrings/debian-archive-keyring.gpg"
	want := []Source{
		{Types: []string{"deb"}, URIs: []string{"http://mirror.example.org/debian"}, Suites: []string{"bookworm"}, Components: []string{"main", "contrib"}, SignedBy: key},
		{Types: []string{"deb-src"}, URIs: []string{"http://mirror.example.org/debian"}, Suites: []string{"bookworm"}, Components: []string{"main"}},
		{Types: []string{"deb"}, URIs: []string{"http://mirror.example.org/debian"}, Suites: []string{"bookworm", "bookworm-updates"}, Components: []string{"main"}, SignedBy: key},
		{Types: []string{"deb"}, URIs: []string{"http://security.example.org/debian-security"}, Suites: []string{"bookworm-security"}, Components: []string{"main"}, SignedBy: key},
		{Types: []string{"deb"}, URIs: []string{"https://packages.example.com/apt"}, Suites: []string{"cloud-sdk"}, Components: []string{"main"}, SignedBy: "/usr/share/keyrings/vendor.gpg"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadSources (-want +got):\n%s", diff)
	}
}

func TestReadSourcesErrors(t *testing.T) {
	for _, tc := range []struct{ name, file, content, want string }{
		{"short line", "sources.list", "deb http://x.example.org/debian\n", "sources.list: line 1: want TYPE URI SUITE"},
		{"deb822 without suites", "sources.list.d/a.sources", "Types: deb\nURIs: http://x.example.org/\n", "a.sources: stanza 1: want Types, URIs and Suites"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "sources.list.d"), 0o755)
			os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.content), 0o644)
			_, err := ReadSources(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestForSuite(t *testing.T) {
	host, err := ReadSources(filepath.Join("testdata", "apt"))
	if err != nil {
		t.Fatal(err)
	}
	mirror, security := "http://mirror.example.org/debian", "http://security.example.org/debian-security"
	for _, tc := range []struct {
		name, suite string
		components  []string
		want        string // URI suite components; …
	}{
		{"same release", "bookworm", nil,
			mirror + " bookworm main contrib; " + mirror + " bookworm-updates main; " + security + " bookworm-security main"},
		{"next release", "trixie", nil,
			mirror + " trixie main contrib; " + mirror + " trixie-updates main; " + security + " trixie-security main"},
		{"unstable has no companions", "sid", nil, mirror + " sid main contrib"},
		{"components replaced", "bookworm", []string{"main", "non-free-firmware"},
			mirror + " bookworm main non-free-firmware; " + mirror + " bookworm-updates main non-free-firmware; " + security + " bookworm-security main non-free-firmware"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ForSuite(host, "bookworm", tc.suite, tc.components)
			if err != nil {
				t.Fatal(err)
			}
			var l []string
			for _, s := range got {
				l = append(l, strings.Join(s.URIs, " ")+" "+strings.Join(s.Suites, " ")+" "+strings.Join(s.Components, " "))
			}
			if diff := cmp.Diff(tc.want, strings.Join(l, "; ")); diff != "" {
				t.Errorf("ForSuite (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("no Debian source", func(t *testing.T) {
		_, err := ForSuite(host[4:], "bookworm", "bookworm", nil)
		if err == nil || !strings.Contains(err.Error(), `no Debian apt source for the host's release "bookworm"`) {
			t.Errorf("error %v", err)
		}
	})
}

func TestDeb822(t *testing.T) {
	got := string(Deb822([]Source{
		{Types: []string{"deb"}, URIs: []string{"http://mirror.example.org/debian"}, Suites: []string{"trixie"}, Components: []string{"main"}, SignedBy: "/k.gpg"},
		{Types: []string{"deb"}, URIs: []string{"http://mirror.example.org/debian"}, Suites: []string{"trixie-updates"}, Components: []string{"main"}},
	}))
	want := "Types: deb\nURIs: http://mirror.example.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /k.gpg\n\n" +
		"Types: deb\nURIs: http://mirror.example.org/debian\nSuites: trixie-updates\nComponents: main\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Deb822 (-want +got):\n%s", diff)
	}
	// What Deb822 writes, ReadSources reads back.
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sources.list.d"), 0o755)
	os.WriteFile(filepath.Join(dir, "sources.list.d", "x.sources"), []byte(got), 0o644)
	back, err := ReadSources(dir)
	if err != nil || len(back) != 2 || back[1].Suites[0] != "trixie-updates" {
		t.Errorf("ReadSources(Deb822(…)) = %+v, %v", back, err)
	}
}
