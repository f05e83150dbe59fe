package squashfs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Filter is what SquashFiltered leaves out of a tree or empties in it,
// without changing the tree (the live upper of a running system).
type Filter struct {
	// Drop are the paths in the image ("/var/log/syslog") left out, each
	// with all below it.
	Drop []string
	// Empty are regular files written empty, with their mode and owner.
	Empty []string
	// StripXattrs: the tree holds overlay-internal xattrs (origin, impure…
	// on copy-ups) that the image must not keep.
	StripXattrs bool
}

// SquashFiltered squashes the tree upper through f, as a clean then Squash
// would, but without changing upper: mksquashfs leaves out what f drops (an
// exclude file), writes what f empties as empty files of the same mode and
// owner (a pseudo file). mksquashfs 4.5 cannot exclude xattrs, so with
// f.StripXattrs the image is squashed with an uncompressed inode table (-noI)
// and StripOverlayXattrs drops overlayfs' xattrs from it before it is
// renamed into place: one pass. Nothing of upper is copied; peak memory is
// mksquashfs's.
func SquashFiltered(ctx context.Context, upper, dst, compression string, f Filter) error {
	dir, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".save-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	args, err := filterArgs(upper, dir, f)
	if err != nil {
		return err
	}
	if !f.StripXattrs {
		return squash(ctx, upper, dst, compression, args, nil, nil)
	}
	strip := func(tmp string) error {
		_, err := StripOverlayXattrs(tmp)
		return err
	}
	// -noI before args: a trailing -e takes the rest of the line.
	return squash(ctx, upper, dst, compression, append([]string{"-noI"}, args...), strip, nil)
}

// filterArgs writes the exclude and pseudo files for f into dir and returns
// the mksquashfs arguments that use them.
func filterArgs(upper, dir string, f Filter) ([]string, error) {
	var excl strings.Builder
	var cmdline []string // names with a newline cannot be lines of a file
	add := func(lp string) {
		pat := wildcardEscape(strings.TrimPrefix(lp, "/"))
		if strings.Contains(lp, "\n") {
			cmdline = append(cmdline, pat)
			return
		}
		excl.WriteString(pat + "\n")
	}
	for _, lp := range f.Drop {
		add(lp)
	}
	var pseudo strings.Builder
	for _, lp := range f.Empty {
		rel := strings.TrimPrefix(lp, "/")
		if wildcardEscape(rel) != rel {
			return nil, fmt.Errorf("squash %s: cannot empty %q: unusual characters in its name", upper, lp)
		}
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(upper, lp), &st); err != nil {
			return nil, err
		}
		add(lp)
		fmt.Fprintf(&pseudo, "%s f %o %d %d true\n", rel, st.Mode&0o7777, st.Uid, st.Gid)
	}
	args := []string{"-wildcards"}
	if excl.Len() > 0 {
		ef := filepath.Join(dir, "exclude")
		if err := os.WriteFile(ef, []byte(excl.String()), 0o600); err != nil {
			return nil, err
		}
		args = append(args, "-ef", ef)
	}
	if pseudo.Len() > 0 {
		pf := filepath.Join(dir, "pseudo")
		if err := os.WriteFile(pf, []byte(pseudo.String()), 0o600); err != nil {
			return nil, err
		}
		args = append(args, "-pf", pf)
	}
	if len(cmdline) > 0 {
		args = append(append(args, "-e"), cmdline...) // -e takes the rest of the line
	}
	return args, nil
}

// wildcardEscape quotes every byte of the path p that mksquashfs's
// -wildcards matching (fnmatch with extended patterns) or its exclude-file
// reader could take as special, so p matches only itself.
func wildcardEscape(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '/', c == '.', c == '_', c == '-', c >= 0x80:
		default:
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}
