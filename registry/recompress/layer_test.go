package recompress

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/mount"
	"github.com/mode-build/mode/squashfs"
	"golang.org/x/sys/unix"
)

// TestSquashAgain: a layer (every kind of entry, an overlayfs whiteout and an
// opaque directory, a verity-like tail) squashed with zstd and recompressed
// with xz holds the same tree, now xz-compressed; nothing stays mounted.
func TestSquashAgain(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresTools(t, "mksquashfs", "unsquashfs")
	src := t.TempDir()
	testutil.RichTree(t, src)
	if err := unix.Mknod(filepath.Join(src, "gone"), unix.S_IFCHR|0o000, 0); err != nil { // a whiteout
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(src, "opaque"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(filepath.Join(src, "opaque"), "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	layer, again := filepath.Join(dir, "l.sqfs"), filepath.Join(dir, "l-xz.sqfs")
	if err := squashfs.Squash(context.Background(), src, layer, "zstd:3"); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(layer, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(make([]byte, 8192)) // what a verity tree would be: after the squashfs data
	f.Close()

	if err := squashAgain(context.Background(), layer, again, "xz"); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("unsquashfs", "-s", again).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Compression xz\n") {
		t.Errorf("unsquashfs -s of the recompressed layer: %v\n%s", err, out)
	}
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, m := range [][2]string{{layer, a}, {again, b}} {
		if err := mount.MountSquashfs(m[0], m[1]); err != nil {
			t.Fatal(err)
		}
		defer mount.Unmount(m[1])
	}
	testutil.CompareTrees(t, a, b)
	if es, _ := filepath.Glob(filepath.Join(dir, ".*")); len(es) != 0 {
		t.Errorf("recompress left %v", es)
	}

	if err := squashAgain(context.Background(), filepath.Join(src, "file"), filepath.Join(dir, "x.sqfs"), "xz"); err == nil ||
		!strings.Contains(err.Error(), filepath.Join(src, "file")) {
		t.Errorf("recompressing a file that is not squashfs: %v, want an error naming it", err)
	}
	if err := squashAgain(context.Background(), layer, filepath.Join(dir, "y.sqfs"), "xz:9"); err == nil || !strings.Contains(err.Error(), `"xz:9"`) {
		t.Errorf("recompress with xz:9: %v, want an error naming the value", err)
	}
	if es, _ := filepath.Glob(filepath.Join(dir, "[xy].sqfs")); len(es) != 0 {
		t.Errorf("failed recompressions left %v", es)
	}
}
