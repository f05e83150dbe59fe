package maker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/modules"
)

const tinyDir = "../../examples/tiny"

var tinyFiles = []string{"base.sqfs", "base-essential.sqfs", "base-essential-console.sqfs", "base-essential-console-extra.sqfs"}

func buildTiny(t *testing.T, dir, out string) []modules.Result {
	t.Helper()
	h, err := modules.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	scratch := t.TempDir()
	b := &modules.Builder{Hierarchy: h, Out: out, Maker: &Maker{Scratch: scratch}}
	res, err := b.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	testutil.NoLeaks(t, scratch)
	return res
}

// TestTinyStack builds examples/tiny and checks, through its layers mounted
// as a stack of overlay lowerdirs, what a user of the booted system sees.
func TestTinyStack(t *testing.T) {
	requireRoot(t)
	out := t.TempDir()
	buildTiny(t, tinyDir, out)
	var files []string
	for _, f := range tinyFiles {
		files = append(files, filepath.Join(out, f))
		if _, err := os.Stat(filepath.Join(out, f[:len(f)-len(".sqfs")]+".json")); err != nil {
			t.Errorf("metadata of %s: %v", f, err)
		}
	}
	root := mountStack(t, files...)
	at := func(p string) string { return filepath.Join(root, p) }

	for _, p := range []string{"etc/motd", "etc/essential.conf", "usr/share/tiny/new.txt", "etc/console.conf", "etc/extra.conf", "bin/busybox", "sbin/init"} {
		if _, err := os.Lstat(at(p)); err != nil {
			t.Errorf("%s: want it there: %v", p, err)
		}
	}
	for _, p := range []string{"etc/old.conf", "usr/share/tiny/a.txt", "usr/share/tiny/b.txt", "var/log/console.log", "etc/console.tmp"} {
		if _, err := os.Lstat(at(p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: want it gone (whiteout, opaque dir or exclusion), got %v", p, err)
		}
	}
	if fi := lstat(t, at("etc/extra.conf")); fi != nil && fi.Mode().Perm() != 0o600 {
		t.Errorf("extra.conf mode %v, want 0600", fi.Mode())
	}
	if fi := lstat(t, at("bin/su-tiny")); fi != nil && fi.Mode()&os.ModeSetuid == 0 {
		t.Errorf("su-tiny mode %v, want setuid", fi.Mode())
	}
	if fi := lstat(t, at("home/tiny/note")); fi != nil {
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 1000 || st.Gid != 1000 {
			t.Errorf("note owned by %d:%d, want 1000:1000", st.Uid, st.Gid)
		}
	}
	a, b := lstat(t, at("etc/console.conf")), lstat(t, at("etc/console.hardlink"))
	if a != nil && b != nil && a.Sys().(*syscall.Stat_t).Ino != b.Sys().(*syscall.Stat_t).Ino {
		t.Errorf("console.hardlink is not a hard link of console.conf")
	}
	if target, err := os.Readlink(at("etc/console.link")); err != nil || target != "console.conf" {
		t.Errorf("console.link -> %q, %v", target, err)
	}
	if fi := lstat(t, at("etc/tiny-null")); fi != nil {
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode()&os.ModeCharDevice == 0 || st.Rdev != 1<<8|3 {
			t.Errorf("tiny-null: mode %v rdev %#x, want char 1:3", fi.Mode(), st.Rdev)
		}
	}
	if fi := lstat(t, at("etc/tiny-fifo")); fi != nil && fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("tiny-fifo mode %v, want a fifo", fi.Mode())
	}
	if fi := lstat(t, at("var/sparse")); fi != nil {
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Size() != 16<<20 || st.Blocks*512 > 1<<20 {
			t.Errorf("var/sparse: size %d, %d blocks: want 16 MiB, sparse", fi.Size(), st.Blocks)
		}
	}
	// essential's own layer keeps the whiteout and the opaque directory as
	// overlayfs made them.
	ess := mountStack(t, filepath.Join(out, "base-essential.sqfs"))
	if fi := lstat(t, filepath.Join(ess, "etc/old.conf")); fi != nil {
		if st := fi.Sys().(*syscall.Stat_t); fi.Mode()&os.ModeCharDevice == 0 || st.Rdev != 0 {
			t.Errorf("etc/old.conf in essential's layer: %v, want a whiteout (char 0:0)", fi.Mode())
		}
	}
	if v, _ := getxattr(filepath.Join(ess, "usr/share/tiny"), "trusted.overlay.opaque"); v != "y" {
		t.Errorf("usr/share/tiny in essential's layer: opaque=%q, want y", v)
	}
	if _, err := os.Lstat(filepath.Join(ess, "etc/motd")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("essential's layer holds etc/motd, which it did not change")
	}
}

func getxattr(p, name string) (string, error) {
	buf := make([]byte, 64)
	n, err := syscall.Getxattr(p, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}
