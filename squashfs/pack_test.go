package squashfs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/layers"
)

func TestPackUnpackRoundTrip(t *testing.T) {
	testutil.RequiresRoot(t)
	src := t.TempDir()
	testutil.RichTree(t, src)
	for _, c := range layers.Compressions {
		t.Run(c, func(t *testing.T) {
			tmp := t.TempDir()
			img := filepath.Join(tmp, "rich.sqfs")
			if err := Pack(context.Background(), src, img, c); err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(img); err != nil || fi.Mode().Perm() != 0o644 {
				t.Errorf("image mode: %v, %v; want 0644", fi.Mode(), err)
			}
			if got := compressionOf(t, img); got != c {
				t.Errorf("image compression: got %s, want %s", got, c)
			}
			out := filepath.Join(tmp, "out")
			if err := Unpack(context.Background(), img, out); err != nil {
				t.Fatal(err)
			}
			testutil.CompareTrees(t, src, out)
			leftovers, _ := filepath.Glob(filepath.Join(tmp, ".*"))
			if len(leftovers) > 0 {
				t.Errorf("temporary files left: %v", leftovers)
			}
		})
	}
}

func compressionOf(t *testing.T, img string) string {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	s, err := openSqfs(f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	return s.compression()
}

func TestUnpackIntoEmptyDir(t *testing.T) {
	testutil.RequiresRoot(t)
	src, tmp := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "a"), []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(tmp, "a.sqfs")
	if err := Pack(context.Background(), src, img, "gzip"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "out")
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Unpack(context.Background(), img, out); err != nil {
		t.Fatal(err)
	}
	testutil.CompareTrees(t, src, out)
}

func TestPackUnpackBadInputs(t *testing.T) {
	testutil.RequiresTools(t, "mksquashfs")
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "dir")
	full := filepath.Join(tmp, "full")
	notSqfs := filepath.Join(tmp, "not.sqfs")
	short := filepath.Join(tmp, "short.sqfs")
	for _, d := range []string{dir, full} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for p, content := range map[string]string{
		filepath.Join(full, "x"): "x",
		notSqfs:                  strings.Repeat("this is not squashfs\n", 20),
		short:                    "hsqs",
	} {
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	good := filepath.Join(tmp, "good.sqfs")
	if err := Pack(context.Background(), dir, good, ""); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(tmp, "truncated.sqfs")
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated, b[:100], 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name string
		run  func() error
		want string // in the error
		is   error
	}{
		{"pack missing dir", func() error { return Pack(ctx, filepath.Join(tmp, "nope"), filepath.Join(tmp, "o.sqfs"), "") }, "nope: no such file", nil},
		{"pack a file", func() error { return Pack(ctx, notSqfs, filepath.Join(tmp, "o.sqfs"), "") }, "not.sqfs: not a directory", nil},
		{"pack bad compression", func() error { return Pack(ctx, dir, filepath.Join(tmp, "o.sqfs"), "brotli") }, `compression "brotli"`, nil},
		{"pack into missing dir", func() error { return Pack(ctx, dir, filepath.Join(tmp, "no/o.sqfs"), "") }, "no/o.sqfs: no directory", nil},
		{"unpack missing file", func() error { return Unpack(ctx, filepath.Join(tmp, "gone.sqfs"), filepath.Join(tmp, "o1")) }, "gone.sqfs: no such file", nil},
		{"unpack not squashfs", func() error { return Unpack(ctx, notSqfs, filepath.Join(tmp, "o2")) }, "not.sqfs: not a squashfs image", ErrNotSquashfs},
		{"unpack short file", func() error { return Unpack(ctx, short, filepath.Join(tmp, "o3")) }, "short.sqfs: not a squashfs image: too short", ErrNotSquashfs},
		{"unpack a directory", func() error { return Unpack(ctx, dir, filepath.Join(tmp, "o4")) }, "dir: not a squashfs image", ErrNotSquashfs},
		{"unpack truncated image", func() error { return Unpack(ctx, truncated, filepath.Join(tmp, "o5")) }, "unsquashfs " + truncated, nil},
		{"unpack into non-empty dir", func() error { return Unpack(ctx, good, full) }, "full: directory is not empty", nil},
		{"unpack onto a file", func() error { return Unpack(ctx, good, notSqfs) }, "not.sqfs: exists and is not a directory", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil {
				t.Fatalf("no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			var exit interface{ ExitCode() int } // cmd/mode would exit silently on one
			if errors.As(err, &exit) {
				t.Errorf("error %q carries an exit code", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(full, "x")); err != nil {
		t.Errorf("non-empty dir was touched: %v", err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(tmp, ".*")); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}
