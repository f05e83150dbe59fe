package layers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// SquashPlan squashes the upper directory upper as Clean then Squash would,
// but without changing upper (the upper of a running system): mksquashfs
// leaves out what p drops (an exclude file), writes what p empties as empty
// files of the same mode and owner (a pseudo file). mksquashfs 4.5 cannot
// exclude xattrs, so when upper holds overlay-internal ones (origin, impure…
// on copy-ups) it squashes in two passes: a quick first image whose xattr
// table StripOverlayXattrs rewrites, then the final image from that one's
// mount. Nothing of upper is copied: the first image lives beside dst, on
// dst's file system, until the second is whole; peak memory is mksquashfs's.
func SquashPlan(ctx context.Context, upper, dst, compression string, p *CleanPlan) error {
	dir, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".save-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	args, err := planArgs(upper, dir, p)
	if err != nil {
		return err
	}
	if len(p.Strip) == 0 {
		return squash(ctx, upper, dst, compression, args, nil)
	}
	first := filepath.Join(dir, "first.sqfs")
	args = append([]string{"-Xcompression-level", "1"}, args...)
	if err := squash(ctx, upper, first, "zstd", args, func(tmp string) error {
		_, err := StripOverlayXattrs(tmp)
		return err
	}); err != nil {
		return err
	}
	mnt := filepath.Join(dir, "first")
	if err := MountSquashfs(first, mnt); err != nil {
		return err
	}
	err = squash(ctx, mnt, dst, compression, nil, nil)
	if uerr := Unmount(mnt); err == nil {
		err = uerr
	}
	return err
}

// planArgs writes the exclude and pseudo files for p into dir and returns
// the mksquashfs arguments that use them.
func planArgs(upper, dir string, p *CleanPlan) ([]string, error) {
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
	for _, lp := range p.Drop {
		add(lp)
	}
	var pseudo strings.Builder
	for _, lp := range p.Empty {
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
