package layers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// opaqueXattr marks an overlayfs directory that hides the lower one. It is
// the only overlay-internal attribute a layer keeps.
const opaqueXattr = "trusted.overlay.opaque"

// Clean prepares the upper directory upper for squashing, as c says: it
// strips overlay-internal xattrs (origin, impure, …; opaque stays), applies
// the exclusions, empties /etc/machine-id and drops copy-ups equal to the
// lower file. It returns what it pruned and what it excluded. Whiteouts and
// opaque directories stay as overlayfs made them.
func Clean(upper string, c Cleaning) (pruned, excluded Pruned, err error) {
	cl := &cleaner{upper: upper, c: c}
	for _, h := range c.HostFiles {
		if b, err := os.ReadFile(h); err == nil {
			cl.host = append(cl.host, hostFile{path: h, data: b})
		}
	}
	if _, err := cl.walk("/"); err != nil {
		return cl.pruned, cl.excluded, fmt.Errorf("clean %s: %w", upper, err)
	}
	return cl.pruned, cl.excluded, nil
}

type hostFile struct {
	path string
	data []byte
}

type cleaner struct {
	upper            string
	c                Cleaning
	host             []hostFile
	pruned, excluded Pruned
}

// walk cleans the entry at p (a layer path) and, for a directory, all below
// it. It reports whether the entry is gone.
func (cl *cleaner) walk(p string) (gone bool, err error) {
	full := filepath.Join(cl.upper, p)
	var st unix.Stat_t
	if err := unix.Lstat(full, &st); err != nil {
		return false, err
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if p != "/" && excludedBy(cl.c.Exclude, p) {
		return true, cl.drop(full, &cl.excluded)
	}
	if err := stripOverlayXattrs(full, isDir); err != nil {
		return false, err
	}
	if !isDir {
		return cl.file(p, full, &st)
	}
	names, err := readDirNames(full)
	if err != nil {
		return false, err
	}
	empty := true
	for _, n := range names {
		g, err := cl.walk(filepath.Join(p, n))
		if err != nil {
			return false, err
		}
		empty = empty && g
	}
	if p == "/" || !empty || cl.c.Lower == "" {
		return false, nil
	}
	same, err := sameEntry(full, filepath.Join(cl.c.Lower, p), &st)
	if err != nil || !same {
		return false, err
	}
	return true, os.Remove(full) // an unchanged, now empty directory copy-up
}

func (cl *cleaner) file(p, full string, st *unix.Stat_t) (bool, error) {
	if isWhiteout(st) {
		return false, nil
	}
	if !kept(cl.c.Keep, p) {
		if excludedBuiltin(p) || cl.leaked(p, full, st) {
			return true, cl.drop(full, &cl.excluded)
		}
		if slices.Contains(truncated, p) && st.Size > 0 {
			cl.excluded.Files++
			cl.excluded.Bytes += st.Size
			return false, os.Truncate(full, 0)
		}
	}
	if cl.c.Lower == "" {
		return false, nil
	}
	same, err := sameEntry(full, filepath.Join(cl.c.Lower, p), st)
	if err != nil || !same {
		return false, err
	}
	return true, cl.drop(full, &cl.pruned)
}

// leaked reports whether the regular file at p is a copy of a host file.
func (cl *cleaner) leaked(p, full string, st *unix.Stat_t) bool {
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false
	}
	for _, h := range cl.host {
		if h.path == p && int64(len(h.data)) == st.Size {
			b, err := os.ReadFile(full)
			return err == nil && bytes.Equal(b, h.data)
		}
	}
	return false
}

// drop removes full (with all below it) and counts it in n.
func (cl *cleaner) drop(full string, n *Pruned) error {
	err := filepath.WalkDir(full, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if info, err := d.Info(); err == nil && !d.IsDir() {
			n.Files++
			n.Bytes += info.Size()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return os.RemoveAll(full)
}

func isWhiteout(st *unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	slices.Sort(names)
	return names, err
}

// stripOverlayXattrs removes the trusted.overlay.* attributes overlayfs keeps
// for itself, except opaque on a directory.
func stripOverlayXattrs(p string, isDir bool) error {
	names, err := listXattrs(p)
	if err != nil {
		return err
	}
	for _, n := range names {
		if !strings.HasPrefix(n, "trusted.overlay.") || (isDir && n == opaqueXattr) {
			continue
		}
		if err := unix.Lremovexattr(p, n); err != nil && !errors.Is(err, unix.ENODATA) {
			return fmt.Errorf("remove xattr %s of %s: %w", n, p, err)
		}
	}
	return nil
}

// sameEntry reports whether the upper entry (stat st) equals the entry at
// lower in type, permissions, owner, content or target, device numbers and
// xattrs. Times are not compared: dpkg and triggers touch files they do not
// change.
func sameEntry(upper, lower string, st *unix.Stat_t) (bool, error) {
	var lt unix.Stat_t
	if err := unix.Lstat(lower, &lt); err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			return false, nil
		}
		return false, err
	}
	if lt.Mode != st.Mode || lt.Uid != st.Uid || lt.Gid != st.Gid {
		return false, nil
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		if lt.Size != st.Size {
			return false, nil
		}
		if same, err := sameContent(upper, lower); err != nil || !same {
			return false, err
		}
	case unix.S_IFLNK:
		a, err1 := os.Readlink(upper)
		b, err2 := os.Readlink(lower)
		if err := errors.Join(err1, err2); err != nil || a != b {
			return false, err
		}
	case unix.S_IFCHR, unix.S_IFBLK:
		if lt.Rdev != st.Rdev {
			return false, nil
		}
	case unix.S_IFDIR:
		if v, _ := getXattr(upper, opaqueXattr); v != "" {
			return false, nil // an opaque directory hides the lower one: never the same
		}
	}
	return sameXattrs(upper, lower)
}

func sameContent(a, b string) (bool, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	ba, bb := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		na, erra := io.ReadFull(fa, ba)
		nb, errb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		if erra == io.EOF || erra == io.ErrUnexpectedEOF {
			return errb == io.EOF || errb == io.ErrUnexpectedEOF, nil
		}
		if erra != nil {
			return false, erra
		}
		if errb != nil {
			return false, errb
		}
	}
}
