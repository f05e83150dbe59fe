package clean

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

	"github.com/mode-build/mode/layers"
	"golang.org/x/sys/unix"
)

// opaqueXattr marks an overlayfs directory that hides the lower one. It is
// the only overlay-internal attribute a layer keeps.
const opaqueXattr = "trusted.overlay.opaque"

// Clean prepares the upper directory upper for squashing, as c says: it
// strips overlay-internal xattrs (origin, impure, …; opaque stays), applies
// the exclusions, empties /etc/machine-id and drops copy-ups equal to the
// lower file. It returns what it pruned and what it excluded. Whiteouts and
// opaque directories stay as overlayfs made them. It is PlanOf, then Apply.
func Clean(upper string, c Options) (pruned, excluded layers.Pruned, err error) {
	p, err := PlanOf(upper, c)
	if err != nil {
		return p.Pruned, p.Excluded, err
	}
	if err := p.Apply(upper); err != nil {
		return p.Pruned, p.Excluded, fmt.Errorf("clean %s: %w", upper, err)
	}
	return p.Pruned, p.Excluded, nil
}

// A Plan is what Clean does to an upper directory, computed without
// changing it: squashfs.SquashFiltered squashes a live upper through it, Apply performs it.
type Plan struct {
	// Drop are the layer paths ("/var/log/syslog") left out, each with all
	// below it, in walk order (a directory after its children).
	Drop []string
	// Empty are regular files kept, but empty.
	Empty []string
	// Strip maps a layer path to the overlay-internal xattrs it carries.
	Strip map[string][]string
	// Pruned counts the copy-ups equal to their lower file, Excluded the
	// entries the exclusions drop and the bytes of emptied files.
	Pruned, Excluded layers.Pruned
}

// PlanOf walks upper (not changing it) and returns what Clean would do.
func PlanOf(upper string, c Options) (*Plan, error) {
	cl := &cleaner{upper: upper, c: c, plan: &Plan{Strip: map[string][]string{}}}
	for _, h := range c.HostFiles {
		if b, err := os.ReadFile(h); err == nil {
			cl.host = append(cl.host, hostFile{path: h, data: b})
		}
	}
	if _, err := cl.walk("/"); err != nil {
		return cl.plan, fmt.Errorf("clean %s: %w", upper, err)
	}
	return cl.plan, nil
}

// Apply performs p on upper: strips the xattrs, removes what it drops and
// empties what it empties.
func (p *Plan) Apply(upper string) error {
	for _, lp := range sortedKeys(p.Strip) {
		for _, n := range p.Strip[lp] {
			full := filepath.Join(upper, lp)
			if err := unix.Lremovexattr(full, n); err != nil && !errors.Is(err, unix.ENODATA) {
				return fmt.Errorf("remove xattr %s of %s: %w", n, full, err)
			}
		}
	}
	for _, lp := range p.Drop {
		if err := os.RemoveAll(filepath.Join(upper, lp)); err != nil {
			return err
		}
	}
	for _, lp := range p.Empty {
		if err := os.Truncate(filepath.Join(upper, lp), 0); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

type hostFile struct {
	path string
	data []byte
}

type cleaner struct {
	upper string
	c     Options
	host  []hostFile
	plan  *Plan
}

// walk plans the entry at p (a layer path) and, for a directory, all below
// it. It reports whether the entry goes.
func (cl *cleaner) walk(p string) (gone bool, err error) {
	full := filepath.Join(cl.upper, p)
	var st unix.Stat_t
	if err := unix.Lstat(full, &st); err != nil {
		return false, err
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if p != "/" && excludedBy(cl.c.Exclude, p) {
		return true, cl.drop(p, &cl.plan.Excluded)
	}
	if err := cl.stripXattrs(p, isDir); err != nil {
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
	mark := len(cl.plan.Drop)
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
	// An unchanged directory copy-up all of whose entries go: it goes whole.
	cl.plan.Drop = append(cl.plan.Drop[:mark], p)
	delete(cl.plan.Strip, p)
	for k := range cl.plan.Strip {
		if strings.HasPrefix(k, p+"/") {
			delete(cl.plan.Strip, k)
		}
	}
	return true, nil
}

func (cl *cleaner) file(p, full string, st *unix.Stat_t) (bool, error) {
	if isWhiteout(st) {
		return false, nil
	}
	if !kept(cl.c.Keep, p) {
		if excludedBuiltin(p) || cl.leaked(p, full, st) {
			return true, cl.drop(p, &cl.plan.Excluded)
		}
		if slices.Contains(truncated, p) && st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size > 0 {
			cl.plan.Excluded.Files++
			cl.plan.Excluded.Bytes += st.Size
			cl.plan.Empty = append(cl.plan.Empty, p)
			return false, nil
		}
	}
	if cl.c.Lower == "" {
		return false, nil
	}
	same, err := sameEntry(full, filepath.Join(cl.c.Lower, p), st)
	if err != nil || !same {
		return false, err
	}
	delete(cl.plan.Strip, p)
	return true, cl.drop(p, &cl.plan.Pruned)
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

// drop plans the removal of p (with all below it) and counts it in n.
func (cl *cleaner) drop(p string, n *layers.Pruned) error {
	err := filepath.WalkDir(filepath.Join(cl.upper, p), func(_ string, d fs.DirEntry, err error) error {
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
	cl.plan.Drop = append(cl.plan.Drop, p)
	return nil
}

// stripXattrs plans the removal of the trusted.overlay.* attributes
// overlayfs keeps for itself, except opaque on a directory.
func (cl *cleaner) stripXattrs(p string, isDir bool) error {
	names, err := listXattrs(filepath.Join(cl.upper, p))
	if err != nil {
		return err
	}
	for _, n := range names {
		if isOverlayPrivate(n, isDir) {
			cl.plan.Strip[p] = append(cl.plan.Strip[p], n)
		}
	}
	return nil
}

// isOverlayPrivate tells whether the xattr name is overlayfs' own and must not
// travel in a layer: trusted.overlay.*, but opaque on a directory.
func isOverlayPrivate(name string, isDir bool) bool {
	return strings.HasPrefix(name, "trusted.overlay.") && !(isDir && name == opaqueXattr)
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
