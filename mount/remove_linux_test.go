package mount

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRemoveUnmounted: a directory with a mount below it is left whole (the
// mounted file survives) and the error names the mount; once unmounted it
// is removed; UnmountBelow takes down what is mounted below a directory.
func TestRemoveUnmounted(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a tmpfs (root): not with -short")
	}
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root: it mounts a tmpfs")
	}
	dir := t.TempDir()
	ws := filepath.Join(dir, "ws")
	mnt := filepath.Join(ws, "l", "0")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(mnt, unix.MNT_DETACH)
	kept := filepath.Join(mnt, "parent-layer-file")
	if err := os.WriteFile(kept, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := RemoveUnmounted(ws)
	if err == nil || !strings.Contains(err.Error(), mnt) {
		t.Fatalf("RemoveUnmounted with a mount below: %v, want an error naming %s", err, mnt)
	}
	if _, err := os.Stat(kept); err != nil {
		t.Fatalf("the mounted file is gone: %v", err)
	}
	// A bind of another directory's contents below ws, as a tool's hook
	// leaves one: UnmountBelow takes both down (ws itself is no mount).
	shared := filepath.Join(dir, "shared")
	bound := filepath.Join(ws, "cache")
	for _, d := range []string{shared, bound} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mount(shared, bound, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(bound, unix.MNT_DETACH)
	if err := UnmountBelow(ws); err != nil {
		t.Fatal(err)
	}
	if table, err := Table(); err != nil || len(Below(table, ws)) > 0 {
		t.Fatalf("after UnmountBelow: %v mounted below %s (%v)", Below(table, ws), ws, err)
	}
	if err := RemoveUnmounted(ws); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ws); !os.IsNotExist(err) {
		t.Errorf("%s still there: %v", ws, err)
	}
}

// TestParseTable: mountinfo lines as data, octal escapes undone.
func TestParseTable(t *testing.T) {
	data := []byte("36 35 98:0 / /a\\040b rw,noatime master:1 - overlay none rw,lowerdir=/l\\0401:/l2,upperdir=/u\n" +
		"37 35 98:0 / /a\\040b/c rw - tmpfs tmpfs rw\n")
	tb, err := parseTable(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(tb) != 2 || tb[0].Point != "/a b" || tb[0].FSType != "overlay" || tb[0].Super["lowerdir"] != "/l 1:/l2" || tb[0].Super["upperdir"] != "/u" {
		t.Errorf("table %+v", tb)
	}
	if got := Below(tb, "/a b"); len(got) != 2 || got[1] != "/a b/c" {
		t.Errorf("Below: %v", got)
	}
	if got := Below(tb, "/a"); len(got) != 0 {
		t.Errorf("Below /a (a prefix, not a parent): %v", got)
	}
}
