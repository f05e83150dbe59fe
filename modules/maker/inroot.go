package maker

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// Every file operation a module names happens inside its root: the parent
// directory of a destination is resolved (and made) by pathrs-lite, which
// follows symbolic links as if root were "/" (openat2 RESOLVE_IN_ROOT where
// the kernel has it), and everything below it is done relative to that
// directory's descriptor, never following a link: a link in the tree, or one
// a parent layer planted, never leads a copy, chown or chmod out of root.

// openRoot opens root as the anchor of in-root operations.
func openRoot(root string) (*os.File, error) {
	return os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// copyIn copies the host file or directory src to p (an absolute path in
// root), owned by root. The last element of p is replaced, not written
// through, when it is a link or of another type.
func copyIn(root *os.File, p, src string) error {
	if !path.IsAbs(p) {
		return fmt.Errorf("%q is not an absolute path", p)
	}
	dir, name := path.Split(path.Clean(p))
	if name == "" { // p is "/": copy into the root itself
		return copyDirContents(int(root.Fd()), src)
	}
	parent, err := pathrs.MkdirAllHandle(root, dir, 0o755)
	if err != nil {
		return fmt.Errorf("%s in the root: %w", dir, err)
	}
	defer parent.Close()
	return copyAt(int(parent.Fd()), name, src)
}

// copyAt copies src to name in the directory dirfd.
func copyAt(dirfd int, name, src string) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
		if !(fi.IsDir() && st.Mode&unix.S_IFMT == unix.S_IFDIR) {
			if err := removeAt(dirfd, name); err != nil {
				return err
			}
		}
	} else if !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("%s: %w", name, err)
	}
	mode := fi.Mode()
	switch {
	case fi.IsDir():
		if err := unix.Mkdirat(dirfd, name, uint32(mode.Perm())); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("mkdir %s: %w", name, err)
		}
		fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		defer unix.Close(fd)
		if err := unix.Fchown(fd, 0, 0); err != nil {
			return err
		}
		return copyDirContents(fd, src)
	case mode&fs.ModeSymlink != 0:
		link, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := unix.Symlinkat(link, dirfd, name); err != nil {
			return fmt.Errorf("symlink %s: %w", name, err)
		}
		return unix.Fchownat(dirfd, name, 0, 0, unix.AT_SYMLINK_NOFOLLOW)
	case mode.IsRegular():
		return copyFileAt(dirfd, name, src, mode)
	}
	return fmt.Errorf("%s: only files, directories and links can be copied", src)
}

// copyDirContents copies what the host directory src holds into the directory fd.
func copyDirContents(fd int, src string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := copyAt(fd, e.Name(), filepath.Join(src, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// copyFileAt creates name in dirfd (never through a link) with src's bytes,
// owned by root, with src's mode including setuid, setgid and sticky bits.
func copyFileAt(dirfd int, name, src string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fd, err := unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	out := os.NewFile(uintptr(fd), name)
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	// chown before chmod: a chown clears the setuid and setgid bits.
	if err := out.Chown(0, 0); err != nil {
		out.Close()
		return err
	}
	if err := unix.Fchmod(fd, unixPerm(mode)); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// unixPerm returns the permission and special bits of mode as chmod(2) takes them.
func unixPerm(mode fs.FileMode) uint32 {
	m := uint32(mode.Perm())
	if mode&fs.ModeSetuid != 0 {
		m |= unix.S_ISUID
	}
	if mode&fs.ModeSetgid != 0 {
		m |= unix.S_ISGID
	}
	if mode&fs.ModeSticky != 0 {
		m |= unix.S_ISVTX
	}
	return m
}

// removeAt removes name from dirfd with everything below it, never
// following a link.
func removeAt(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	d := os.NewFile(uintptr(fd), name)
	names, err := d.Readdirnames(-1)
	if err == nil {
		for _, n := range names {
			if err = removeAt(fd, n); err != nil {
				break
			}
		}
	}
	d.Close()
	if err != nil {
		return err
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

// chmodIn sets the mode (permission and special bits, octal as chmod(1)
// takes it) of p in root, following links inside root only.
func chmodIn(root *os.File, p string, mode uint32) error {
	h, err := pathrs.OpenatInRoot(root, p)
	if err != nil {
		return err
	}
	defer h.Close()
	f, err := pathrs.Reopen(h, unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Fchmod(int(f.Fd()), mode&0o7777)
}
