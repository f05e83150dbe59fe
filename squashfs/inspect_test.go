package squashfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/sys/unix"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/layers"
)

// byPath indexes entries by path, failing on a path listed twice.
func byPath(t *testing.T, entries []Entry) map[string]Entry {
	t.Helper()
	m := map[string]Entry{}
	for _, e := range entries {
		if _, dup := m[e.Path]; dup {
			t.Errorf("%s listed twice", e.Path)
		}
		m[e.Path] = e
	}
	return m
}

func TestInspectRichTree(t *testing.T) {
	testutil.RequiresRoot(t)
	src := t.TempDir()
	testutil.RichTree(t, src)
	const u, g = testutil.RichUID, testutil.RichGID
	want := []Entry{
		{Path: "/", Type: TypeDir, Mode: fs.ModeDir | 0o755},
		{Path: "/file", Type: TypeFile, Mode: 0o644, UID: u, GID: g, Nlink: 1},
		{Path: "/setuid", Type: TypeFile, Mode: fs.ModeSetuid | 0o755, Nlink: 1},
		{Path: "/setgid", Type: TypeFile, Mode: fs.ModeSetgid | 0o755, Nlink: 1},
		{Path: "/sticky", Type: TypeDir, Mode: fs.ModeDir | fs.ModeSticky | 0o777},
		{Path: "/zero", Type: TypeFile, Mode: 0, Nlink: 1},
		{Path: "/xattrs", Type: TypeFile, Mode: 0o644, Nlink: 1,
			Xattrs: map[string]string{"user.mode.test": "user-value", "trusted.mode.test": "trusted-value"}},
		{Path: "/cap", Type: TypeFile, Mode: 0o755, Nlink: 1,
			Xattrs: map[string]string{"security.capability": string(testutil.RichCapability)}},
		{Path: "/hard/a", Type: TypeFile, Mode: 0o640, GID: g, Nlink: 2},
		{Path: "/hard/b", Type: TypeFile, Mode: 0o640, GID: g, Nlink: 2},
		{Path: "/dev/null", Type: TypeChar, Mode: fs.ModeDevice | fs.ModeCharDevice | 0o666, Major: 1, Minor: 3, Nlink: 1},
		{Path: "/dev/loop200", Type: TypeBlock, Mode: fs.ModeDevice | 0o660, Major: 7, Minor: 200, Nlink: 1},
		{Path: "/fifo", Type: TypeFifo, Mode: fs.ModeNamedPipe | 0o600, Nlink: 1},
		{Path: "/link", Type: TypeSymlink, Mode: fs.ModeSymlink | 0o777, UID: u, GID: g, Target: "file", Nlink: 1},
		{Path: "/dangling", Type: TypeSymlink, Mode: fs.ModeSymlink | 0o777, Target: "no/such/target", Nlink: 1},
		{Path: "/sparse", Type: TypeFile, Mode: 0o644, Nlink: 1},
		{Path: "/empty", Type: TypeDir, Mode: fs.ModeDir | 0o700},
		{Path: "/owned", Type: TypeDir, Mode: fs.ModeDir | 0o750, UID: u, GID: g},
		{Path: "/owned/deep/deeper.txt", Type: TypeFile, Mode: 0o644, UID: u, GID: g, Nlink: 1},
	}
	for i, w := range want { // file sizes from the tree itself
		if w.Type == TypeFile {
			fi, err := os.Lstat(filepath.Join(src, w.Path))
			if err != nil {
				t.Fatal(err)
			}
			want[i].Size = fi.Size()
		}
	}
	for _, c := range layers.Compressions {
		t.Run(c, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "rich.sqfs")
			if err := Pack(context.Background(), src, img, c); err != nil {
				t.Fatal(err)
			}
			entries, err := Inspect(img)
			if err != nil {
				t.Fatal(err)
			}
			got := byPath(t, entries)
			for _, w := range want {
				g, ok := got[w.Path]
				if !ok {
					t.Errorf("%s: not listed", w.Path)
					continue
				}
				// Directory sizes and link counts, and inode numbers, are squashfs's own.
				opts := cmp.Options{cmpopts.IgnoreFields(Entry{}, "Inode")}
				if w.Type == TypeDir {
					opts = append(opts, cmpopts.IgnoreFields(Entry{}, "Size", "Nlink"))
				}
				if d := cmp.Diff(w, g, opts, cmpopts.EquateEmpty()); d != "" {
					t.Errorf("%s (-want +got):\n%s", w.Path, d)
				}
			}
			if got["/hard/a"].Inode != got["/hard/b"].Inode || got["/hard/a"].Inode == got["/file"].Inode {
				t.Errorf("hard links: /hard/a inode %d, /hard/b %d, /file %d",
					got["/hard/a"].Inode, got["/hard/b"].Inode, got["/file"].Inode)
			}
			if got["/sparse"].Size != testutil.RichSparseSize {
				t.Errorf("/sparse: size %d, want %d", got["/sparse"].Size, testutil.RichSparseSize)
			}
			if len(entries) != 23 { // want's 19 + /hard /dev /sticky/inside /owned/deep
				t.Errorf("%d entries, want 23", len(entries))
			}
			for i := 1; i < len(entries); i++ {
				if !strings.HasPrefix(entries[i].Path, "/") {
					t.Errorf("path %q is not absolute", entries[i].Path)
				}
			}
		})
	}
}

func TestInspectWhiteoutOpaque(t *testing.T) {
	testutil.RequiresRoot(t)
	src := t.TempDir()
	for _, d := range []string{"etc/opaque", "etc/plain"} {
		if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Mknod(filepath.Join(src, "etc/foo"), unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Lsetxattr(filepath.Join(src, "etc/opaque"), OpaqueXattr, []byte("y"), 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Lsetxattr(filepath.Join(src, "etc/plain"), OpaqueXattr, []byte("n"), 0); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "upper.sqfs")
	if err := Pack(context.Background(), src, img, "zstd"); err != nil {
		t.Fatal(err)
	}
	entries, err := Inspect(img)
	if err != nil {
		t.Fatal(err)
	}
	got := byPath(t, entries)
	tests := []struct {
		path             string
		whiteout, opaque bool
	}{
		{"/etc/foo", true, false},
		{"/etc/opaque", false, true},
		{"/etc/plain", false, false},
		{"/etc", false, false},
	}
	for _, tt := range tests {
		e := got[tt.path]
		if e.Whiteout != tt.whiteout || e.Opaque != tt.opaque {
			t.Errorf("%s: whiteout %v opaque %v, want %v %v", tt.path, e.Whiteout, e.Opaque, tt.whiteout, tt.opaque)
		}
	}
}

func TestInspectBadInputs(t *testing.T) {
	testutil.RequiresTools(t, "mksquashfs")
	tmp := t.TempDir()
	files := map[string]string{"text.sqfs": strings.Repeat("not squashfs ", 20), "short.sqfs": "hsqs", "empty.sqfs": ""}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img := filepath.Join(tmp, "img.sqfs")
	if err := Pack(context.Background(), t.TempDir(), img, "gzip"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "truncated.sqfs"), b[:100], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"text.sqfs", "short.sqfs", "empty.sqfs", "missing.sqfs", "truncated.sqfs"} {
		t.Run(name, func(t *testing.T) {
			_, err := Inspect(filepath.Join(tmp, name))
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("error %v does not name %s", err, name)
			}
			if name == "truncated.sqfs" && !strings.Contains(err.Error(), "truncated: 100 bytes") {
				t.Errorf("error %v does not say the image is truncated", err)
			}
			if name != "missing.sqfs" && name != "truncated.sqfs" && !errors.Is(err, ErrNotSquashfs) {
				t.Errorf("error %v is not ErrNotSquashfs", err)
			}
		})
	}
}

// TestInspectManyEntries crosses metadata block boundaries in the inode,
// directory and xattr tables, and reads xattr values stored out of line
// (mksquashfs stores a repeated value once and refers to it).
func TestInspectManyEntries(t *testing.T) {
	testutil.RequiresRoot(t)
	src := t.TempDir()
	const n = 1500
	big := strings.Repeat("0123456789", 300)
	for i := range n {
		p := filepath.Join(src, "many", fmt.Sprintf("file-with-a-longish-name-%04d", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(fmt.Sprint(i)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := unix.Lsetxattr(p, "user.shared", []byte(big), 0); err != nil {
			t.Fatal(err)
		}
		if err := unix.Lsetxattr(p, "user.own", []byte(fmt.Sprint(i)), 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []string{"gzip", "lz4"} {
		t.Run(c, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "many.sqfs")
			if err := Pack(context.Background(), src, img, c); err != nil {
				t.Fatal(err)
			}
			entries, err := Inspect(img)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != n+2 {
				t.Fatalf("%d entries, want %d", len(entries), n+2)
			}
			for i, e := range entries[2:] {
				want := map[string]string{"user.shared": big, "user.own": fmt.Sprint(i)}
				if e.Path != fmt.Sprintf("/many/file-with-a-longish-name-%04d", i) || e.Size != int64(len(fmt.Sprint(i))) {
					t.Fatalf("entry %d: %s size %d", i, e.Path, e.Size)
				}
				if !cmp.Equal(e.Xattrs, want) {
					t.Fatalf("%s: xattrs %d, want %d", e.Path, len(e.Xattrs), len(want))
				}
			}
		})
	}
}
