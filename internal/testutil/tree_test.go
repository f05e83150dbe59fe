package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// recorder is a testing.TB that keeps what Errorf reports.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// copyTree copies src to dst with cp -a, which keeps owners, modes, xattrs,
// hard links, devices and sparseness.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", "--sparse=always", src+"/.", dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v: %s", err, out)
	}
}

func TestRichTreeCopyEqual(t *testing.T) {
	RequiresRoot(t)
	a, b := t.TempDir(), t.TempDir()
	RichTree(t, a)
	copyTree(t, a, b)
	r := &recorder{TB: t}
	CompareTrees(r, a, b)
	if len(r.errs) > 0 {
		t.Errorf("identical copies differ:\n%s", strings.Join(r.errs, "\n"))
	}
}

func TestCompareTreesFindsDifferences(t *testing.T) {
	RequiresRoot(t)
	tests := []struct {
		name   string
		change func(dir string) error
		want   string // a piece of the reported difference
	}{
		{"setuid lost", func(d string) error { return os.Chmod(filepath.Join(d, "setuid"), 0o755) }, "setuid: mode"},
		{"owner", func(d string) error { return os.Lchown(filepath.Join(d, "file"), 0, 0) }, "file: owner: want 1234:5678, got 0:0"},
		{"content", func(d string) error { return os.WriteFile(filepath.Join(d, "file"), []byte("HELLO\n"), 0o644) }, "file: content"},
		{"target", func(d string) error {
			os.Remove(filepath.Join(d, "dangling"))
			return os.Symlink("elsewhere", filepath.Join(d, "dangling"))
		}, `dangling: symlink target: want "no/such/target", got "elsewhere"`},
		{"rdev", func(d string) error {
			p := filepath.Join(d, "dev/null")
			os.Remove(p)
			if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 5))); err != nil {
				return err
			}
			return os.Chmod(p, 0o666)
		}, "dev/null: device: want 1,3, got 1,5"},
		{"xattr", func(d string) error { return unix.Lremovexattr(filepath.Join(d, "xattrs"), "trusted.mode.test") }, "xattrs: xattrs"},
		{"capability", func(d string) error { return unix.Lremovexattr(filepath.Join(d, "cap"), "security.capability") }, "cap: xattrs"},
		{"hard link broken", func(d string) error {
			p := filepath.Join(d, "hard/b")
			b, _ := os.ReadFile(p)
			os.Remove(p)
			if err := os.WriteFile(p, b, 0o640); err != nil {
				return err
			}
			return os.Chown(p, 0, RichGID)
		}, "hard/a: hard links: want [hard/a hard/b], got [hard/a]"},
		{"not sparse", func(d string) error {
			p := filepath.Join(d, "sparse")
			out, err := exec.Command("cp", "--sparse=never", p, p+".full").CombinedOutput()
			if err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			return os.Rename(p+".full", p)
		}, "sparse: sparse"},
		{"missing", func(d string) error { return os.Remove(filepath.Join(d, "fifo")) }, "fifo: missing"},
		{"extra", func(d string) error { return os.Mkdir(filepath.Join(d, "more"), 0o755) }, "more: extra"},
	}
	a := t.TempDir()
	RichTree(t, a)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := t.TempDir()
			copyTree(t, a, b)
			if err := tt.change(b); err != nil {
				t.Fatal(err)
			}
			r := &recorder{TB: t}
			CompareTrees(r, a, b)
			all := strings.Join(r.errs, "\n")
			if !strings.Contains(all, tt.want) {
				t.Errorf("want a difference containing %q, got:\n%s", tt.want, all)
			}
		})
	}
}
