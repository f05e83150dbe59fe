package squashfs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/mount"
)

func TestStripOverlayXattrs(t *testing.T) {
	testutil.RequiresRoot(t)
	many := func(t *testing.T, dir string) map[string]map[string]string {
		// Enough distinct lists that the key/value area and the id table
		// both span several metadata blocks.
		want := map[string]map[string]string{"/": nil}
		for i := range 1200 {
			p := fmt.Sprintf("f%04d", i)
			setX(t, dir, p, map[string]string{"user.n": strings.Repeat("v", i%40) + fmt.Sprint(i),
				"trusted.overlay.origin": strings.Repeat("o", 29) + fmt.Sprint(i)})
			want["/"+p] = map[string]string{"user.n": strings.Repeat("v", i%40) + fmt.Sprint(i)}
		}
		return want
	}
	tests := []struct {
		name  string
		fill  func(t *testing.T, dir string) map[string]map[string]string // want per path
		strip bool
	}{
		{"mixed", func(t *testing.T, dir string) map[string]map[string]string {
			setX(t, dir, "", map[string]string{"trusted.overlay.impure": "y", "trusted.overlay.uuid": "0123456789abcdef"})
			setX(t, dir, "conf", map[string]string{"trusted.overlay.origin": "\x00\xfb\x1d", "user.keep": "me"})
			setX(t, dir, "opaque/", map[string]string{"trusted.overlay.opaque": "y", "trusted.overlay.impure": "y"})
			setX(t, dir, "cap", map[string]string{"security.capability": string(testutil.RichCapability)})
			setX(t, dir, "same", map[string]string{"trusted.overlay.origin": "\x00\xfb\x1d", "user.keep": "me"})
			setX(t, dir, "big", map[string]string{"user.big": strings.Repeat("b", 3000), "trusted.overlay.origin": "x"})
			return map[string]map[string]string{
				"/": nil, "/conf": {"user.keep": "me"}, "/opaque": {OpaqueXattr: "y"},
				"/cap": {"security.capability": string(testutil.RichCapability)}, "/same": {"user.keep": "me"},
				"/big": {"user.big": strings.Repeat("b", 3000)},
			}
		}, true},
		{"lists that print alike", func(t *testing.T, dir string) map[string]map[string]string {
			setX(t, dir, "a", map[string]string{"user.a": "x} {user.b y", "trusted.overlay.origin": "o"})
			setX(t, dir, "b", map[string]string{"user.a": "x", "user.b": "y", "trusted.overlay.origin": "o"})
			return map[string]map[string]string{"/": nil, "/a": {"user.a": "x} {user.b y"}, "/b": {"user.a": "x", "user.b": "y"}}
		}, true},
		{"only overlay", func(t *testing.T, dir string) map[string]map[string]string {
			setX(t, dir, "", map[string]string{"trusted.overlay.impure": "y"})
			setX(t, dir, "a", map[string]string{"trusted.overlay.origin": "o"})
			return map[string]map[string]string{"/": nil, "/a": nil}
		}, true},
		{"every kind of inode", func(t *testing.T, dir string) map[string]map[string]string {
			// Inodes of every size between the patched ones: data blocks
			// and a fragment, a sparse file, a symlink, devices, a fifo,
			// a hard link, a directory with an index (a long listing).
			big := make([]byte, 300<<10)
			for i := range big {
				big[i] = byte(i * 7 / 3)
			}
			must(t, os.WriteFile(filepath.Join(dir, "big"), big, 0o644))
			must(t, os.WriteFile(filepath.Join(dir, "sparse"), nil, 0o644))
			must(t, os.Truncate(filepath.Join(dir, "sparse"), 1<<20))
			must(t, os.Symlink("big", filepath.Join(dir, "link")))
			must(t, unix.Mknod(filepath.Join(dir, "chr"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))))
			must(t, unix.Mknod(filepath.Join(dir, "blk"), unix.S_IFBLK|0o600, int(unix.Mkdev(7, 0))))
			must(t, unix.Mkfifo(filepath.Join(dir, "fifo"), 0o600))
			must(t, os.Link(filepath.Join(dir, "big"), filepath.Join(dir, "hard")))
			want := map[string]map[string]string{"/": nil, "/long": nil}
			for _, p := range []string{"big", "sparse", "link", "chr", "blk", "fifo"} {
				// trusted.*: user.* is for files and directories only
				for k, v := range map[string]string{"trusted.overlay.origin": "o" + p, "trusted.k": p} {
					must(t, unix.Lsetxattr(filepath.Join(dir, p), k, []byte(v), 0))
				}
				want["/"+p] = map[string]string{"trusted.k": p}
			}
			want["/hard"] = want["/big"]
			must(t, os.Mkdir(filepath.Join(dir, "long"), 0o755))
			for i := range 700 { // over 8 KiB of entries: an indexed directory
				n := fmt.Sprintf("long/%s%03d", strings.Repeat("n", 20), i)
				setX(t, dir, n, map[string]string{"trusted.overlay.origin": "o"})
				want["/"+n] = nil
			}
			setX(t, dir, "long/", map[string]string{"trusted.overlay.impure": "y"})
			return want
		}, true},
		{"none to strip", func(t *testing.T, dir string) map[string]map[string]string {
			setX(t, dir, "a", map[string]string{"user.a": "1"})
			return map[string]map[string]string{"/": nil, "/a": {"user.a": "1"}}
		}, false},
		{"many", many, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, tmp := t.TempDir(), t.TempDir()
			want := tt.fill(t, dir)
			img := filepath.Join(tmp, "x.sqfs")
			if err := squash(context.Background(), dir, img, "zstd", []string{"-noI"}, nil, nil); err != nil {
				t.Fatal(err)
			}
			changed, err := StripOverlayXattrs(img)
			if err != nil {
				t.Fatal(err)
			}
			if changed != tt.strip {
				t.Errorf("changed = %v, want %v", changed, tt.strip)
			}
			entries, err := Inspect(img)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]map[string]string{}
			for _, e := range entries {
				got[e.Path] = e.Xattrs
				if len(e.Xattrs) == 0 {
					got[e.Path] = nil
				}
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("xattrs after strip (-want +got):\n%s", d)
			}
			if fi, _ := os.Stat(img); fi.Size()%4096 != 0 {
				t.Errorf("image size %d is not padded to 4 KiB", fi.Size())
			}
			// unsquashfs reads every inode and list (it refuses an inode
			// whose list is empty) and restores the xattrs left.
			out := filepath.Join(tmp, "out")
			if msg, err := exec.Command("unsquashfs", "-no-progress", "-d", out, img).CombinedOutput(); err != nil || strings.Contains(string(msg), "rror") {
				t.Fatalf("unsquashfs: %v: %s", err, msg)
			}
			for p, w := range want {
				x, err := xattrsAll(filepath.Join(out, p))
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(w, x); d != "" {
					t.Errorf("%s unsquashed (-want +got):\n%s", p, d)
				}
			}
			// The kernel reads the same.
			mnt := filepath.Join(tmp, "m")
			if err := mount.MountSquashfs(img, mnt); err != nil {
				t.Fatal(err)
			}
			defer mount.Unmount(mnt)
			for p, w := range want {
				x, err := xattrsAll(filepath.Join(mnt, p))
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(w, x); d != "" {
					t.Errorf("%s mounted (-want +got):\n%s", p, d)
				}
			}
		})
	}
}

// setX creates rel under dir (a directory when it ends in "/", a file
// otherwise; "" is dir itself) and sets xs on it.
func setX(t *testing.T, dir, rel string, xs map[string]string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	switch {
	case rel == "":
	case strings.HasSuffix(rel, "/"):
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	default:
		if err := os.WriteFile(p, []byte(rel), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range xs {
		if err := unix.Lsetxattr(p, k, []byte(v), 0); err != nil {
			t.Fatalf("setxattr %s %s: %v", p, k, err)
		}
	}
}

// xattrsAll returns every xattr of p, nil for none.
func xattrsAll(p string) (map[string]string, error) { return testutil.Xattrs(p) }

// TestStripOverlayXattrsCompressedInodes: an image whose inode table is
// compressed cannot have its inodes patched in place; the strip says so and
// leaves the image as it was.
func TestStripOverlayXattrsCompressedInodes(t *testing.T) {
	testutil.RequiresRoot(t)
	dir := t.TempDir()
	setX(t, dir, "a", map[string]string{"trusted.overlay.origin": "o", "user.a": "1"})
	img := filepath.Join(t.TempDir(), "x.sqfs")
	if err := Squash(context.Background(), dir, img, "zstd"); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	changed, err := StripOverlayXattrs(img)
	if err == nil || changed || !strings.Contains(err.Error(), "-noI") || !strings.Contains(err.Error(), img) {
		t.Errorf("StripOverlayXattrs = %v, %v; want an error naming the image and -noI", changed, err)
	}
	if after, _ := os.ReadFile(img); string(after) != string(before) {
		t.Error("the image changed")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
