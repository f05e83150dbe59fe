package activate

import (
	"strings"
	"testing"
)

// fakeTree is a Tree of the directories listed, "+" marking opaque ones.
type fakeTree map[string]bool

func (f fakeTree) IsDir(p string) bool  { _, ok := f[p]; return ok }
func (f fakeTree) Opaque(p string) bool { return f[p] }

func TestDirMount(t *testing.T) {
	root := Root{Dir: "/", Lowers: []string{"/run/mode/layers/top", "/run/mode/layers/base"}, Upper: "/run/mode/changes", Work: "/run/mode/.work"}
	a := Layer{Mount: "/run/mode/active/a", Dirs: []string{"etc", "usr"}}
	b := Layer{Mount: "/run/mode/active/b", Dirs: []string{"etc", "opt"}}
	tree := fakeTree{"/run/mode/layers/top/etc": false, "/run/mode/layers/base/etc": false, "/run/mode/layers/base/usr": false,
		"/run/mode/active/a/etc": false, "/run/mode/active/a/usr": true, "/run/mode/active/b/etc": false, "/run/mode/active/b/opt": false}
	for _, tc := range []struct {
		name   string
		active []Layer
		dir    string
		want   string // lowerdir, upperdir, workdir, target; "" for no mount
	}{
		{"one module over every booted layer that has the directory", []Layer{a}, "etc",
			"lowerdir=/run/mode/active/a/etc:/run/mode/layers/top/etc:/run/mode/layers/base/etc,upperdir=/run/mode/changes/etc,workdir=/run/mode/.activate-work/etc.3,"},
		{"the later module on top", []Layer{a, b}, "etc",
			"lowerdir=/run/mode/active/b/etc:/run/mode/active/a/etc:/run/mode/layers/top/etc:/run/mode/layers/base/etc,"},
		{"an opaque directory hides what is below it", []Layer{a}, "usr", "lowerdir=/run/mode/active/a/usr,upperdir"},
		{"a new top-level directory has the module alone", []Layer{a, b}, "opt", "lowerdir=/run/mode/active/b/opt,upperdir=/run/mode/changes/opt,"},
		{"not covered", []Layer{a}, "opt", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := DirMount(root, tc.active, tc.dir, 3, tree)
			if !ok {
				if tc.want != "" {
					t.Fatalf("no mount, want %q", tc.want)
				}
				return
			}
			if got := m.Data + " " + m.Target; tc.want == "" || !strings.Contains(got, tc.want) {
				t.Errorf("got %q, want it to hold %q", got, tc.want)
			}
			if m.Type != "overlay" || !strings.Contains(m.Data, "index=off") {
				t.Errorf("mount %s", m)
			}
		})
	}
}

func TestStatusMerge(t *testing.T) {
	parse := func(s string) *Status {
		st, err := ParseStatus([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	p := "Package: a\nArchitecture: amd64\nVersion: 1\n\nPackage: b\nArchitecture: amd64\nVersion: 1\n\nPackage: gone\nArchitecture: all\nVersion: 1\n"
	parent := parse(p)
	// x adds c, upgrades b, removes gone; y (a sibling on the same parent) adds d.
	x := DiffStatus(parent, parse("Package: a\nArchitecture: amd64\nVersion: 1\n\nPackage: b\nArchitecture: amd64\nVersion: 2\n\nPackage: c\nArchitecture: amd64\nVersion: 1\n"))
	y := DiffStatus(parent, parse(p+"\nPackage: d\nArchitecture: amd64\nVersion: 1\n"))
	cur := parse(p)
	cur.Apply(x)
	cur.Apply(y)
	if got := strings.Join(cur.Names(), " "); got != "a:amd64 b:amd64 c:amd64 d:amd64" {
		t.Errorf("both applied: %s", got)
	}
	if changed := cur.Revert(x); len(changed) != 0 {
		t.Errorf("revert x: changed %v", changed)
	}
	if got := strings.Join(cur.Names(), " "); got != "a:amd64 b:amd64 d:amd64 gone:all" || !strings.Contains(string(cur.Bytes()), "Package: b\nArchitecture: amd64\nVersion: 1\n") {
		t.Errorf("x reverted: %s\n%s", got, cur.Bytes())
	}
	// A package the user upgraded after activation is left as it is, and said.
	cur.Apply(x)
	cur.set("c:amd64", "Package: c\nArchitecture: amd64\nVersion: 9")
	if changed := cur.Revert(x); strings.Join(changed, " ") != "c:amd64" || !cur.Has("c:amd64") {
		t.Errorf("revert after an upgrade: changed %v, names %v", changed, cur.Names())
	}
	if _, err := ParseStatus([]byte("Version: 1\n")); err == nil {
		t.Error("a stanza without Package parsed")
	}
}

func TestCollapse(t *testing.T) {
	var in []string
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		in = append(in, "/var/spool/p/private/"+n)
	}
	in = append(in, "/etc/x", "/var/spool/p/private", "/var/spool/p/pid")
	got := strings.Join(collapse(in), " | ")
	if want := "/etc/x | /var/spool/p/pid | /var/spool/p/private/ (5 entries)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// Then the parent, with what is deeper in it.
	in = append(in, "/var/spool/p/a", "/var/spool/p/b", "/var/spool/p/c", "/var/spool/p/d/deep")
	got = strings.Join(collapse(in), " | ")
	if want := "/etc/x | /var/spool/p/ (10 entries)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	few := []string{"/etc/a", "/etc/b"}
	if got := collapse(few); strings.Join(got, " ") != "/etc/a /etc/b" {
		t.Errorf("few: %v", got)
	}
}
