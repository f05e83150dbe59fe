package activate

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/mount"
	"golang.org/x/sys/unix"
)

// system is a booted system faked in a directory: booted layers as plain
// directories under run/layers, the root overlay at root with its upper
// run/changes, and run/chain.json, as the init leaves them.
type system struct {
	t    testing.TB
	dir  string
	run  string
	root string
	out  string // where module layers are built, beside their parents' metadata
}

func write(t testing.TB, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const baseStatus = "Package: a\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n\nPackage: b\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n"

func newSystem(t testing.TB) *system {
	t.Helper()
	if os.Getuid() != 0 {
		t.Fatal("this test needs root (overlay and loop mounts)")
	}
	if _, err := exec.LookPath("mksquashfs"); err != nil {
		t.Fatal("this test needs mksquashfs (squashfs-tools)")
	}
	dir := t.TempDir()
	s := &system{t: t, dir: dir, run: filepath.Join(dir, "run"), root: filepath.Join(dir, "root"), out: filepath.Join(dir, "out")}
	base := filepath.Join(layers.LayersDir(s.run), "base")
	top := filepath.Join(layers.LayersDir(s.run), "base-console")
	write(t, filepath.Join(base, "bin/tool"), "base tool\n")
	write(t, filepath.Join(base, "etc/old.conf"), "old\n")
	write(t, filepath.Join(base, "etc/keep.conf"), "keep\n")
	write(t, filepath.Join(base, "usr/share/x/base.txt"), "base\n")
	write(t, filepath.Join(base, StatusFile), baseStatus)
	write(t, filepath.Join(top, "etc/console.conf"), "console\n")
	for _, d := range []string{layers.ChangesDir(s.run), layers.WorkDir(s.run), s.root, s.out} {
		os.MkdirAll(d, 0o755)
	}
	metas := []layers.Meta{
		{Name: "base", Chain: []string{"base"}, File: "base.sqfs", Digest: "sha256:b1"},
		{Name: "console", Parent: "base", Chain: []string{"base", "console"}, File: "base-console.sqfs", Digest: "sha256:c1"},
	}
	for _, m := range metas {
		if err := layers.WriteMeta(filepath.Join(s.out, strings.TrimSuffix(m.File, ".sqfs")+".json"), m); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeJSON(layers.ChainFile(s.run), layers.Booted{Name: "base-console", Ref: "/dev/vda", Layers: metas}); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(base, "srv/.keep"), "")
	write(t, filepath.Join(base, "home/u/.keep"), "")
	m := mount.Overlay([]string{top, base}, layers.ChangesDir(s.run), layers.WorkDir(s.run), s.root)
	if err := m.Mount(); err != nil {
		t.Fatal(err)
	}
	// Mount points of the running system: /srv, and one below /home.
	for _, p := range []string{"srv", "home/u"} {
		if err := (mount.Mount{Type: "tmpfs", Source: "tmpfs", Target: filepath.Join(s.root, p)}).Mount(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		tb, _ := mount.Table()
		for i := len(tb) - 1; i >= 0; i-- {
			if strings.HasPrefix(tb[i].Point, dir+"/") {
				unix.Unmount(tb[i].Point, unix.MNT_DETACH)
			}
		}
	})
	return s
}

func writeJSON(p string, b layers.Booted) error {
	data, err := json.Marshal(b)
	if err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

// module squashes tree (made by fill) into out/base-console-NAME.sqfs with
// its metadata, built on parents (digests).
func (s *system) module(name string, fill func(dir string)) string {
	t := s.t
	t.Helper()
	src := filepath.Join(s.dir, "src-"+name)
	os.MkdirAll(src, 0o755)
	fill(src)
	file := filepath.Join(s.out, "base-console-"+name+".sqfs")
	if out, err := exec.Command("mksquashfs", src, file, "-noappend", "-quiet", "-no-progress").CombinedOutput(); err != nil {
		t.Fatalf("mksquashfs: %v: %s", err, out)
	}
	dg, size, err := layers.FileDigest(file)
	if err != nil {
		t.Fatal(err)
	}
	m := layers.Meta{Name: name, Parent: "console", Chain: []string{"base", "console", name}, File: filepath.Base(file), Digest: dg, Size: size}
	if err := layers.WriteMeta(strings.TrimSuffix(file, ".sqfs")+".json", m); err != nil {
		t.Fatal(err)
	}
	return file
}

func (s *system) read(p string) string {
	data, err := os.ReadFile(filepath.Join(s.root, p))
	if err != nil {
		return "(" + errors.Unwrap(err).Error() + ")"
	}
	return string(data)
}

func (s *system) opts() Options { return Options{RunDir: s.run, Root: s.root} }

// snapshot is what must not change when a refusal leaves the system alone.
func (s *system) snapshot() string {
	tb, _ := mount.Table()
	var b strings.Builder
	for _, e := range tb {
		if strings.HasPrefix(e.Point, s.dir) {
			b.WriteString(e.Point + "\n")
		}
	}
	filepath.WalkDir(layers.ChangesDir(s.run), func(p string, _ os.DirEntry, _ error) error {
		b.WriteString(p + "\n")
		return nil
	})
	st, _ := os.ReadFile(layers.ActiveFile(s.run))
	b.Write(st)
	return b.String()
}

func mkfile(t testing.TB, dir, p, content string) { write(t, filepath.Join(dir, p), content) }

func TestActivateDeactivate(t *testing.T) {
	s := newSystem(t)
	ctx := context.Background()
	mod := s.module("tools", func(d string) {
		mkfile(t, d, "etc/new.conf", "new\n")
		mkfile(t, d, "bin/tool", "module tool\n")
		mkfile(t, d, "opt/thing/readme", "thing\n")
		mkfile(t, d, "usr/share/x/mod.txt", "mod\n")
		if err := unix.Setxattr(filepath.Join(d, "usr/share/x"), "trusted.overlay.opaque", []byte("y"), 0); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mknod(filepath.Join(d, "etc/old.conf"), unix.S_IFCHR, 0); err != nil {
			t.Fatal(err)
		}
		mkfile(t, d, StatusFile, baseStatus+"\nPackage: c\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2\n\nPackage: e\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n")
	})
	before := map[string]string{"etc/new.conf": "(no such file or directory)", "bin/tool": "base tool\n", "etc/old.conf": "old\n",
		"opt/thing/readme": "(no such file or directory)", "usr/share/x/base.txt": "base\n", "usr/share/x/mod.txt": "(no such file or directory)"}
	after := map[string]string{"etc/new.conf": "new\n", "bin/tool": "module tool\n", "etc/old.conf": "(no such file or directory)",
		"opt/thing/readme": "thing\n", "usr/share/x/base.txt": "(no such file or directory)", "usr/share/x/mod.txt": "mod\n"}
	check := func(when string, want map[string]string) {
		t.Helper()
		for p, w := range want {
			if got := s.read(p); got != w {
				t.Errorf("%s: /%s = %q, want %q", when, p, got, w)
			}
		}
	}
	check("before", before)
	held, err := os.Open(filepath.Join(s.root, "bin/tool")) // a process holding a file open
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	wd, _ := os.Getwd()
	if err := os.Chdir(filepath.Join(s.root, "etc")); err != nil { // a shell in /etc
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	a, err := Activate(ctx, mod, s.opts())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("new.conf"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a working directory inside /etc from before activation sees new.conf: %v", err)
	}
	os.Chdir(wd)
	if !slices.Equal(a.Module.Dirs, []string{"bin", "etc", "opt", "usr", "var"}) {
		t.Errorf("dirs %v", a.Module.Dirs)
	}
	check("activated", after)
	if data, _ := io.ReadAll(held); string(data) != "base tool\n" {
		t.Errorf("a file open before activation reads %q, want the old content", data)
	}
	// The same root as booting with the module on top (mode.load): a fresh
	// overlay of the module over the booted layers shows the same tree.
	boot := filepath.Join(s.dir, "boot")
	if err := mount.Overlay([]string{a.Module.Mount, filepath.Join(layers.LayersDir(s.run), "base-console"), filepath.Join(layers.LayersDir(s.run), "base")}, "", "", boot).Mount(); err != nil {
		t.Fatal(err)
	}
	if got, want := tree(t, s.root), tree(t, boot); got != want {
		t.Errorf("activated root:\n%s\nbooted with the module:\n%s", got, want)
	}
	unix.Unmount(boot, 0)
	if a.Status != "as the layers show it" {
		t.Errorf("status %q: one module over its parent should need no write", a.Status)
	}
	// RAM: the upper holds the top-level directories copied up, no file of the module.
	var files []string
	filepath.WalkDir(layers.ChangesDir(s.run), func(p string, e os.DirEntry, _ error) error {
		if !e.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Errorf("upper holds files after activation: %v", files)
	}
	// Refusals leave the system as it is.
	snap := s.snapshot()
	if _, err := Activate(ctx, mod, s.opts()); !errors.Is(err, ErrActive) {
		t.Errorf("activate twice: %v, want ErrActive", err)
	}
	// By name from the mode.from medium (Ref /dev/vda), which mode.toram let go of.
	if _, err := Activate(ctx, "other", s.opts()); err == nil || !strings.Contains(err.Error(), "with mode.toram it is let go of") {
		t.Errorf("media gone: %v", err)
	}
	if _, err := Deactivate(ctx, "nosuch", s.opts()); !errors.Is(err, ErrNotActive) || !strings.Contains(err.Error(), "active: tools") {
		t.Errorf("deactivate nosuch: %v", err)
	}
	other := s.module("other", func(d string) { mkfile(t, d, "etc/other.conf", "x\n") })
	// another chain: its parent console was a different layer
	m, _ := readMeta(filepath.Join(s.out, "base-console.json"))
	m.Digest = "sha256:c2"
	layers.WriteMeta(filepath.Join(s.out, "base-console.json"), m)
	if _, err := Activate(ctx, other, s.opts()); !errors.Is(err, ErrOtherChain) || !strings.Contains(err.Error(), "sha256:c2") {
		t.Errorf("other chain: %v", err)
	}
	m.Digest = "sha256:c1"
	layers.WriteMeta(filepath.Join(s.out, "base-console.json"), m)
	// a tampered layer: one byte changed after its metadata was written
	data, _ := os.ReadFile(other)
	data[len(data)-1] ^= 1
	os.WriteFile(other, data, 0o644)
	if _, err := Activate(ctx, other, s.opts()); err == nil || !strings.Contains(err.Error(), "was changed or damaged") {
		t.Errorf("tampered: %v", err)
	}
	// limits: a top-level deletion or file
	for name, fill := range map[string]func(string){
		"deltop":  func(d string) { unix.Mknod(filepath.Join(d, "opt"), unix.S_IFCHR, 0); mkfile(t, d, "etc/y", "y") },
		"filetop": func(d string) { mkfile(t, d, "topfile", "y") },
		"mounted": func(d string) { mkfile(t, d, "srv/x", "y") },
		"below":   func(d string) { mkfile(t, d, "home/x", "y") },
	} {
		if _, err := Activate(ctx, s.module(name, fill), s.opts()); err == nil || !strings.Contains(err.Error(), map[string]string{
			"deltop": "top-level", "filetop": "top-level", "mounted": "a mount point of the running system", "below": "mount points below it (" + s.root + "/home/u)"}[name]) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if got := s.snapshot(); got != snap {
		t.Errorf("a refusal changed the system:\n%s\nwant\n%s", got, snap)
	}
	// A sibling on the same parent: dpkg knows both; other files: the later wins.
	sib := s.module("sib", func(d string) {
		mkfile(t, d, "etc/sib.conf", "sib\n")
		mkfile(t, d, "etc/new.conf", "sib's\n")
		// c too, as tools has it: a library both install
		mkfile(t, d, StatusFile, baseStatus+"\nPackage: c\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2\n\nPackage: d\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3\n")
	})
	a2, err := Activate(ctx, sib, s.opts())
	if err != nil {
		t.Fatal(err)
	}
	st, _ := ParseStatus([]byte(s.read(StatusFile)))
	if got := st.Names(); !slices.Equal(got, []string{"a:amd64", "b:amd64", "c:amd64", "d:amd64", "e:amd64"}) || a2.Status != "merged and written" {
		t.Errorf("two modules: status %v (%s)", got, a2.Status)
	}
	if got := s.read("etc/new.conf"); got != "sib's\n" {
		t.Errorf("two modules with one file: %q, want the later one's", got)
	}
	after["etc/new.conf"] = "sib's\n"
	check("two active", after)
	// The user edits a module's file and adds one to the module's directory.
	write(t, filepath.Join(s.root, "etc/new.conf"), "edited\n")
	write(t, filepath.Join(s.root, "opt/thing/mine"), "mine\n")
	d, err := Deactivate(ctx, "tools", s.opts())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Kept, []string{"/etc/new.conf", "/opt/thing", "/opt/thing/mine"}) {
		t.Errorf("kept %v", d.Kept)
	}
	before["etc/new.conf"] = "edited\n" // the user's, above both
	before["opt/thing/readme"] = "(no such file or directory)"
	check("deactivated", before)
	if got := s.read("opt/thing/mine"); got != "mine\n" {
		t.Errorf("user's new file: %q", got)
	}
	st, _ = ParseStatus([]byte(s.read(StatusFile)))
	if got := st.Names(); !slices.Equal(got, []string{"a:amd64", "b:amd64", "c:amd64", "d:amd64"}) || len(d.StatusKept) != 0 {
		t.Errorf("after deactivating tools: status %v (kept %v): c is sib's too", got, d.StatusKept)
	}
	if got := s.read("etc/sib.conf"); got != "sib\n" {
		t.Errorf("sib after tools left: %q", got)
	}
	d, err = Deactivate(ctx, "sib", s.opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.StatusKept) != 0 || d.Status != "merged and written" {
		t.Errorf("deactivating sib: status %q, kept %v", d.Status, d.StatusKept)
	}
	st, _ = ParseStatus([]byte(s.read(StatusFile)))
	if got := st.Names(); !slices.Equal(got, []string{"a:amd64", "b:amd64"}) {
		t.Errorf("after deactivating both: status %v", got)
	}
	tb, _ := mount.Table()
	for _, e := range tb {
		if e.Point == filepath.Join(s.root, "srv") || e.Point == filepath.Join(s.root, "home/u") {
			continue // the fake system's own
		}
		if strings.HasPrefix(e.Point, s.root+"/") || strings.HasPrefix(e.Point, layers.ActiveDir(s.run)+"/") {
			t.Errorf("left mounted: %s", e.Point)
		}
	}
}

// tree lists every path under dir with its type and content, skipping the
// mount points of the fake system.
func tree(t *testing.T, dir string) string {
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		rel, _ := filepath.Rel(dir, p)
		if rel == "srv" || rel == "home/u" {
			return filepath.SkipDir
		}
		if err != nil {
			t.Errorf("walk %s: %v", p, err)
			return nil
		}
		fi, _ := e.Info()
		b.WriteString(rel + " " + fi.Mode().String())
		if fi.Mode().IsRegular() {
			data, _ := os.ReadFile(p)
			b.WriteString(" " + string(data))
		}
		b.WriteString("\n")
		return nil
	})
	return b.String()
}
