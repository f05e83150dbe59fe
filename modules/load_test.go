package modules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadGood(t *testing.T) {
	h, dir := loadGood(t, nil)
	if diff := cmp.Diff([]string{"base", "conf", "console", "essential", "extra"}, h.Names()); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
	c := h.Modules["console"]
	want := &Module{
		Name:   "console",
		Parent: "essential",
		Files:  []File{{Src: "files/motd", Dst: "/etc/motd", Mode: "0644"}},
		Run:    []string{"echo hi"},
		Path:   filepath.Join(dir, "console.yaml"),
		Dir:    dir,
		Lines: map[string]int{"name": 1, "parent": 2, "files": 3, "files[0]": 4, "files[0].src": 4,
			"files[0].dst": 4, "files[0].mode": 4, "run": 5, "run[0]": 6},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("console (-want +got):\n%s", diff)
	}
	if got := c.At("run[0]"); got != filepath.Join(dir, "console.yaml")+":6" {
		t.Errorf("At(run[0]) = %s", got)
	}
	if got := h.Modules["extra"].Path; got != filepath.Join(dir, "extra.yml") {
		t.Errorf("extra Path = %q", got)
	}
	if !h.Modules["conf"].ConfigOnly() || h.Modules["console"].ConfigOnly() {
		t.Errorf("ConfigOnly: conf %v, console %v", h.Modules["conf"].ConfigOnly(), h.Modules["console"].ConfigOnly())
	}
}

func TestLoadBad(t *testing.T) {
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"secret": "x"})
	base := "name: base\nfrom: {dir: rootfs}\n"
	tests := []struct {
		name  string
		files map[string]string
		want  []string // each must occur in the error text
	}{
		{"unknown key", map[string]string{"console.yaml": "name: console\nparent: base\nfoo: 1\n"},
			[]string{`console.yaml:3: unknown key "foo"`}},
		{"unknown nested key", map[string]string{"console.yaml": "name: console\nparent: base\nfiles:\n  - src: f\n    dst: /f\n    mod: \"0644\"\n"},
			[]string{`console.yaml:6: unknown key "mod" in files[0]`}},
		{"unknown bootstrap key", map[string]string{"base.yaml": "name: base\nbootstrap:\n  suite: bookworm\n  variants: minbase\n"},
			[]string{`base.yaml:4: unknown key "variants" in bootstrap`}},
		{"missing name", map[string]string{"console.yaml": "parent: base\nrun: [true]\n"},
			[]string{`console.yaml:1: missing "name"`}},
		{"name differs from file", map[string]string{"console.yaml": "parent: base\nname: consol\n"},
			[]string{`console.yaml:2: name "consol" differs from the file name: console.yaml must say name: console`}},
		{"name with dash", map[string]string{"my-mod.yaml": "name: my-mod\nparent: base\n"},
			[]string{`my-mod.yaml:1: name "my-mod" contains '-'`, "ambiguous"}},
		{"name upper case", map[string]string{"Console.yaml": "name: Console\nparent: base\n"},
			[]string{`Console.yaml:1: name "Console": want lower-case`}},
		{"name leading dot", map[string]string{".x.yaml": "name: .x\nparent: base\n"},
			[]string{`.x.yaml:1: name ".x": want lower-case`}},
		{"unknown parent", map[string]string{"console.yaml": "name: console\nparent: nosuch\n"},
			[]string{`console.yaml:2: unknown parent "nosuch" (modules: base, console)`}},
		{"cycle", map[string]string{
			"a.yaml": "name: a\nparent: b\n", "b.yaml": "name: b\nparent: c\n", "c.yaml": "name: c\nparent: a\n",
			"d.yaml": "name: d\nparent: c\n"},
			[]string{`a.yaml:2: parent cycle: a → b → c → a`}},
		{"self parent", map[string]string{"a.yaml": "name: a\nparent: a\n"},
			[]string{`a.yaml:2: parent cycle: a → a`}},
		{"base with parent", map[string]string{"b2.yaml": "name: b2\nfrom: {dir: rootfs}\nparent: base\n"},
			[]string{`b2.yaml:3: parent "base": a base module (with bootstrap or from) has no parent`}},
		{"no parent", map[string]string{"console.yaml": "name: console\nrun: [true]\n"},
			[]string{`console.yaml:1: no "parent"`}},
		{"bootstrap and from", map[string]string{"base.yaml": "name: base\nbootstrap: {suite: bookworm}\nfrom: {dir: rootfs}\n"},
			[]string{`base.yaml:3: both "bootstrap" and "from"`}},
		{"from none", map[string]string{"base.yaml": "name: base\nfrom: {}\n"},
			[]string{`base.yaml:2: from names 0 sources`}},
		{"from two", map[string]string{"base.yaml": "name: base\nfrom:\n  dir: rootfs\n  tar: rootfs.tar\n"},
			[]string{`base.yaml:2: from names 2 sources (dir, tar)`}},
		{"from missing", map[string]string{"base.yaml": "name: base\nfrom:\n  tar: nosuch.tar\n"},
			[]string{`base.yaml:3: from tar "nosuch.tar": no such file or directory`}},
		{"from dir is a file", map[string]string{"base.yaml": "name: base\nfrom: {dir: base.yaml}\n"},
			[]string{`base.yaml:2: from dir "base.yaml" is not a directory`}},
		{"bootstrap without suite", map[string]string{"base.yaml": "name: base\nbootstrap:\n  tool: mmdebstrap\n"},
			[]string{`base.yaml:2: bootstrap without "suite"`}},
		{"bootstrap bad tool", map[string]string{"base.yaml": "name: base\nbootstrap:\n  suite: bookworm\n  tool: yum\n"},
			[]string{`base.yaml:4: bootstrap tool "yum": want mmdebstrap or debootstrap`}},
		{"files src missing", map[string]string{"console.yaml": "name: console\nparent: base\nfiles:\n  - {src: nosuch, dst: /x}\n"},
			[]string{`console.yaml:4: files[0]: src "nosuch": no such file or directory`}},
		{"files no src", map[string]string{"console.yaml": "name: console\nparent: base\nfiles:\n  - dst: /x\n"},
			[]string{`console.yaml:4: files[0]: missing "src"`}},
		{"files src escapes", map[string]string{"console.yaml": "name: console\nparent: base\nfiles:\n  - {src: rootfs/../../x, dst: /x}\n"},
			[]string{`console.yaml:4: files[0]: src "rootfs/../../x"`}},
		{"files src escapes by symlink", map[string]string{
			"link":         "->" + filepath.Join(outside, "secret"),
			"console.yaml": "name: console\nparent: base\nfiles:\n  - {src: link, dst: /x}\n"},
			[]string{`console.yaml:4: files[0]: src "link": escapes the hierarchy directory`}},
		{"files src absolute outside", map[string]string{"console.yaml": "name: console\nparent: base\nfiles:\n  - {src: " + filepath.Join(outside, "secret") + ", dst: /x}\n"},
			[]string{`console.yaml:4: files[0]: src "` + filepath.Join(outside, "secret") + `": want a path relative to the hierarchy directory`}},
		{"from escapes by ..", map[string]string{"base.yaml": "name: base\nfrom:\n  dir: rootfs/../..\n"},
			[]string{`base.yaml:3: from dir "rootfs/../..": escapes the hierarchy directory`, `must be written as an absolute path`}},
		{"from escapes by symlink", map[string]string{"out": "->" + outside, "base.yaml": "name: base\nfrom: {dir: out}\n"},
			[]string{`base.yaml:2: from dir "out": escapes the hierarchy directory`}},
		{"from host relative", map[string]string{"base.yaml": "name: base\nfrom:\n  dir: rootfs\n  host: [/bin/sh, bin/sh]\n"},
			[]string{`base.yaml:4: from host "bin/sh": want an absolute path`}},
		{"from host missing", map[string]string{"base.yaml": "name: base\nfrom:\n  dir: rootfs\n  host:\n    - /nosuch/busybox\n"},
			[]string{`base.yaml:5: from host "/nosuch/busybox": no such file or directory`}},
		{"files dst relative", map[string]string{"console.yaml": "name: console\nparent: base\nfiles:\n  - src: rootfs\n    dst: etc/x\n"},
			[]string{`console.yaml:5: files[0]: dst "etc/x": want an absolute path`}},
		{"files mode 644x", map[string]string{"console.yaml": "name: console\nparent: base\nfiles:\n  - {src: rootfs, dst: /x}\n  - {src: rootfs, dst: /y, mode: 644x}\n"},
			[]string{`console.yaml:5: files[1]: mode "644x": want an octal string like "0644"`}},
		{"files mode 99999", map[string]string{"console.yaml": "name: console\nparent: base\nfiles:\n  - src: rootfs\n    dst: /x\n    mode: \"99999\"\n"},
			[]string{`console.yaml:6: files[0]: mode "99999"`}},
		{"exclude bad pattern", map[string]string{"console.yaml": "name: console\nparent: base\nexclude:\n  - /var/log/*.log\n  - '/x/['\n"},
			[]string{`console.yaml:5: exclude "/x/[": syntax error in pattern`}},
		{"exclude relative", map[string]string{"console.yaml": "name: console\nparent: base\nexclude: ['[', 'etc/relative']\n"},
			[]string{`console.yaml:3: exclude "[": want an absolute path pattern`, `console.yaml:3: exclude "etc/relative": want an absolute path pattern`}},
		{"files mode rw", map[string]string{"console.yaml": "name: console\nparent: base\nfiles:\n  - {src: rootfs, dst: /x, mode: rw}\n"},
			[]string{`console.yaml:4: files[0]: mode "rw"`}},
		{"duplicate name", map[string]string{
			"console.yaml": "name: console\nparent: base\n", "console.yml": "name: console\nparent: base\n"},
			[]string{`console.yml:1: duplicate module name "console": also in `, `console.yaml:1`}},
		{"wrong type", map[string]string{"console.yaml": "name: console\nparent: base\npackages: {a: b}\n"},
			[]string{`console.yaml:3: packages: cannot unmarshal`}},
		{"syntax", map[string]string{"console.yaml": "name: console\nparent: [base\n"},
			[]string{`console.yaml:`, `did not find expected`}},
		{"empty", map[string]string{"console.yaml": ""},
			[]string{`console.yaml:1: empty module file`}},
		{"not a mapping", map[string]string{"console.yaml": "- a\n- b\n"},
			[]string{`console.yaml:1: want a mapping`}},
		{"two documents", map[string]string{"console.yaml": "name: console\nparent: base\n---\nname: x\n"},
			[]string{`console.yaml:3: more than one YAML document`}},
		{"unknown arch", map[string]string{"console.yaml": "name: console\nparent: base\narch: sparc\n"},
			[]string{`console.yaml:3: arch: architecture "sparc": mode builds for amd64, arm64`}},
		{"parent of another arch", map[string]string{
			"base.yaml":    "name: base\narch: amd64\nfrom: {dir: rootfs}\n",
			"console.yaml": "name: console\nparent: base\narch: arm64\n"},
			[]string{`console.yaml:3: arch arm64: its parent chain is amd64 (`, `base.yaml:2)`}},
		{"bootstrap architecture differs", map[string]string{"base.yaml": "name: base\narch: arm64\nbootstrap:\n  suite: bookworm\n  architecture: amd64\n"},
			[]string{`base.yaml:5: bootstrap architecture "amd64" differs from the module's arch "arm64"`}},
		{"foreign without packages", map[string]string{"base.yaml": "name: base\nfrom:\n  dir: rootfs\n  foreign: {suite: bookworm}\n"},
			[]string{`base.yaml:4: from foreign names no packages`}},
		{"all faults at once", map[string]string{
			"console.yaml": "name: console\nparent: base\nfoo: 1\n", "extra.yaml": "name: extra\nparent: nosuch\n"},
			[]string{"console.yaml:3: unknown key \"foo\"", "\n", "extra.yaml:2: unknown parent \"nosuch\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"rootfs/etc/hostname": "base\n", "base.yaml": base})
			writeFiles(t, dir, tt.files)
			h, err := Load(dir)
			if err == nil {
				t.Fatalf("Load succeeded with modules %v; want an error with %q", h.Names(), tt.want)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error\n%s\ndoes not contain\n%s", msg, w)
				}
			}
			if !strings.HasPrefix(msg, dir+string(filepath.Separator)) {
				t.Errorf("error %q does not start with the file's path", msg)
			}
			var e *Error
			if !errors.As(err, &e) || e.Line < 1 {
				t.Errorf("error %v: want an *Error with a line", err)
			}
		})
	}
}

// TestLoadFromAbsolute: a from source outside the hierarchy is fine when
// written as an absolute path, on purpose.
func TestLoadFromAbsolute(t *testing.T) {
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"rootfs/etc/hostname": "x\n"})
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"base.yaml": "name: base\nfrom: {dir: " + filepath.Join(outside, "rootfs") + "}\n"})
	h, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := h.Modules["base"]
	if got := m.Source(m.From.Dir); got != filepath.Join(outside, "rootfs") {
		t.Errorf("Source = %s, want the absolute path as written", got)
	}
}

func TestLoadNoModules(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "no module files") {
		t.Errorf("Load(empty dir) = %v, want no module files", err)
	}
	if _, err := Load(filepath.Join(dir, "nosuch")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing dir) = %v, want ErrNotExist", err)
	}
}
