package squashfs

import (
	"context"
	"fmt"
	"os"
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
			if err := Squash(context.Background(), dir, img, "zstd"); err != nil {
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
			// The kernel reads the rewritten table (unsquashfs 4.5 refuses lists
			// left empty: SquashPlan squashes again from this mount).
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
