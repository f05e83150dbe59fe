package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// entry is what CompareTrees compares of one path.
type entry struct {
	mode     fs.FileMode // type and permission bits, setuid/setgid/sticky included
	uid, gid uint32
	size     int64
	blocks   int64     // 512-byte blocks allocated
	ino      [2]uint64 // device and inode: overlayfs repeats inode numbers across layers
	rdev     uint64
	target   string
	hash     string
	xattrs   map[string]string
}

// CompareTrees reports with t.Errorf every difference between the trees at want
// and got: missing or extra paths, type, mode bits (setuid, setgid and sticky
// included), owner, size, content, symlink target, device numbers, xattrs,
// hard-link grouping (which paths share an inode), and sparseness (a file that
// is sparse in want must be sparse in got). Directory sizes and times are not
// compared. The roots themselves are compared as ".".
func CompareTrees(t testing.TB, want, got string) {
	t.Helper()
	w, err := scanTree(want)
	if err != nil {
		t.Fatalf("CompareTrees: %v", err)
	}
	g, err := scanTree(got)
	if err != nil {
		t.Fatalf("CompareTrees: %v", err)
	}
	wl, gl := linkGroups(w), linkGroups(g)
	for _, p := range sortedKeys(w) {
		we, ok := g[p]
		if !ok {
			t.Errorf("%s: missing in %s", p, got)
			continue
		}
		for _, d := range diffEntry(w[p], we) {
			t.Errorf("%s: %s", p, d)
		}
		if !w[p].mode.IsDir() && wl[w[p].ino] != gl[we.ino] {
			t.Errorf("%s: hard links: want [%s], got [%s]", p, wl[w[p].ino], gl[we.ino])
		}
	}
	for _, p := range sortedKeys(g) {
		if _, ok := w[p]; !ok {
			t.Errorf("%s: extra in %s", p, got)
		}
	}
}

// diffEntry lists how got differs from want, one phrase per difference.
func diffEntry(want, got entry) []string {
	var d []string
	if want.mode != got.mode {
		return append(d, fmt.Sprintf("mode: want %v, got %v", want.mode, got.mode))
	}
	if want.uid != got.uid || want.gid != got.gid {
		d = append(d, fmt.Sprintf("owner: want %d:%d, got %d:%d", want.uid, want.gid, got.uid, got.gid))
	}
	if want.mode.IsRegular() && want.size != got.size {
		d = append(d, fmt.Sprintf("size: want %d, got %d", want.size, got.size))
	}
	if want.hash != got.hash {
		d = append(d, fmt.Sprintf("content: want sha256 %.12s, got %.12s", want.hash, got.hash))
	}
	if want.target != got.target {
		d = append(d, fmt.Sprintf("symlink target: want %q, got %q", want.target, got.target))
	}
	if want.mode&(fs.ModeDevice|fs.ModeCharDevice) != 0 && want.rdev != got.rdev {
		d = append(d, fmt.Sprintf("device: want %d,%d, got %d,%d",
			unix.Major(want.rdev), unix.Minor(want.rdev), unix.Major(got.rdev), unix.Minor(got.rdev)))
	}
	if a, b := fmtXattrs(want.xattrs), fmtXattrs(got.xattrs); a != b {
		d = append(d, fmt.Sprintf("xattrs: want {%s}, got {%s}", a, b))
	}
	if want.mode.IsRegular() && isSparse(want) && !isSparse(got) {
		d = append(d, fmt.Sprintf("sparse: want few blocks for %d bytes, got %d bytes allocated",
			got.size, got.blocks*512))
	}
	return d
}

// isSparse tells whether a file allocates less than a quarter of its size.
func isSparse(e entry) bool { return e.size > 1<<20 && e.blocks*512 < e.size/4 }

// scanTree reads every path under root, keyed by its slash path relative to root.
func scanTree(root string) (map[string]entry, error) {
	m := map[string]entry{}
	err := filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		e, err := readEntry(path)
		if err != nil {
			return err
		}
		m[filepath.ToSlash(rel)] = e
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", root, err)
	}
	return m, nil
}

func readEntry(path string) (entry, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return entry{}, err
	}
	st := fi.Sys().(*syscall.Stat_t)
	e := entry{mode: fi.Mode(), uid: st.Uid, gid: st.Gid, size: fi.Size(),
		blocks: st.Blocks, ino: [2]uint64{uint64(st.Dev), st.Ino}, rdev: uint64(st.Rdev)}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		if e.target, err = os.Readlink(path); err != nil {
			return e, err
		}
	case fi.Mode().IsRegular():
		if e.hash, err = hashFile(path); err != nil {
			return e, err
		}
	}
	e.xattrs, err = readXattrs(path)
	return e, err
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// readXattrs returns every extended attribute of path, not following symlinks.
func readXattrs(path string) (map[string]string, error) {
	sz, err := unix.Llistxattr(path, nil)
	if err != nil || sz == 0 {
		if err == unix.ENOTSUP {
			err = nil
		}
		return nil, err
	}
	buf := make([]byte, sz)
	if sz, err = unix.Llistxattr(path, buf); err != nil {
		return nil, fmt.Errorf("%s: list xattrs: %w", path, err)
	}
	m := map[string]string{}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:sz]), "\x00"), "\x00") {
		if name == "" {
			continue // overlayfs counts the attributes it hides in the size, then lists none
		}
		n, err := unix.Lgetxattr(path, name, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: xattr %s: %w", path, name, err)
		}
		v := make([]byte, n)
		if n, err = unix.Lgetxattr(path, name, v); err != nil {
			return nil, fmt.Errorf("%s: xattr %s: %w", path, name, err)
		}
		m[name] = string(v[:n])
	}
	return m, nil
}

func fmtXattrs(m map[string]string) string {
	var s []string
	for k, v := range m {
		s = append(s, fmt.Sprintf("%s=%q", k, v))
	}
	sort.Strings(s)
	return strings.Join(s, " ")
}

// linkGroups maps each inode of a non-directory to the sorted paths naming it.
func linkGroups(m map[string]entry) map[[2]uint64]string {
	paths := map[[2]uint64][]string{}
	for _, p := range sortedKeys(m) {
		if !m[p].mode.IsDir() {
			paths[m[p].ino] = append(paths[m[p].ino], p)
		}
	}
	g := map[[2]uint64]string{}
	for ino, ps := range paths {
		g[ino] = strings.Join(ps, " ")
	}
	return g
}

func sortedKeys(m map[string]entry) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Xattrs returns every extended attribute of path (not following symlinks),
// nil when it has none.
func Xattrs(path string) (map[string]string, error) {
	m, err := readXattrs(path)
	if len(m) == 0 {
		return nil, err
	}
	return m, err
}
