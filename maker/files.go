package maker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mode-build/mode/modules"
)

// copyFiles runs m's files step: each source copied into root at its
// destination, owned by root, with its mode or the one the entry gives.
func copyFiles(m *modules.Module, root string) error {
	for _, f := range m.Files {
		src := filepath.Join(m.Dir, f.Src)
		dst, err := resolveIn(root, f.Dst)
		if err != nil {
			return fmt.Errorf("%s: files %s: %w", m.Path, f.Dst, err)
		}
		if err := copyTree(src, dst); err != nil {
			return fmt.Errorf("%s: files %s → %s: %w", m.Path, f.Src, f.Dst, err)
		}
		if f.Mode != "" {
			mode, err := strconv.ParseUint(f.Mode, 8, 32)
			if err != nil {
				return fmt.Errorf("%s: files %s: mode %q: %w", m.Path, f.Dst, f.Mode, err)
			}
			if err := os.Chmod(dst, fs.FileMode(mode&0o777)|specialBits(uint32(mode))); err != nil {
				return err
			}
		}
	}
	return nil
}

func specialBits(mode uint32) fs.FileMode {
	var m fs.FileMode
	if mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// resolveIn returns the host path of p inside root, following the symbolic
// links on the way as if root were "/": a link never leads out of root. The
// last element is not followed, so a link there is replaced, not written
// through.
func resolveIn(root, p string) (string, error) {
	if !path.IsAbs(p) {
		return "", fmt.Errorf("%q is not an absolute path", p)
	}
	dir, last := path.Split(path.Clean(p))
	parts := strings.Split(strings.Trim(dir, "/"), "/")
	cur := "/"
	for hops := 0; len(parts) > 0; {
		c := parts[0]
		parts = parts[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, c)
		fi, err := os.Lstat(filepath.Join(root, next))
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			cur = next // a directory, or missing: created later
			continue
		}
		if hops++; hops > 40 {
			return "", fmt.Errorf("too many links resolving %s", p)
		}
		target, err := os.Readlink(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			cur = "/"
		}
		parts = append(strings.Split(target, "/"), parts...)
	}
	return filepath.Join(root, cur, last), nil
}

// copyTree copies the file or directory src to dst, owned by root.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if old, err := os.Lstat(target); err == nil && !(old.IsDir() && d.IsDir()) {
			if err := os.RemoveAll(target); err != nil {
				return err
			}
		}
		switch {
		case d.IsDir():
			if err := os.Mkdir(target, info.Mode().Perm()); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			if err := copyFile(p, target, info.Mode()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: only files, directories and links can be copied", p)
		}
		return os.Lchown(target, 0, 0)
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode.Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, mode.Perm()|mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
}

// fromSource fills root from m's from: a directory, a tar archive or a
// squashfs image, exactly (owners, modes, xattrs, links, devices).
func fromSource(ctx context.Context, m *modules.Module, root string) error {
	var argv []string
	var src string
	switch f := m.From; {
	case f.Dir != "":
		src = filepath.Join(m.Dir, f.Dir)
		argv = []string{"cp", "-a", "--", src + "/.", root + "/"}
	case f.Tar != "":
		src = filepath.Join(m.Dir, f.Tar)
		argv = []string{"tar", "-xpf", src, "-C", root, "--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls"}
	case f.Squashfs != "":
		src = filepath.Join(m.Dir, f.Squashfs)
		argv = []string{"unsquashfs", "-f", "-q", "-n", "-d", root, src}
	default:
		return fmt.Errorf("%s: from names no source", m.Path)
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s: from %s: %s: %w: %s", m.Path, src, argv[0], err, strings.TrimSpace(out.String()))
	}
	for _, h := range m.From.Host {
		dst, err := resolveIn(root, h)
		if err != nil {
			return fmt.Errorf("%s: from host %s: %w", m.Path, h, err)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		real, err := filepath.EvalSymlinks(h) // a host library is often a link: copy what it names
		if err != nil {
			return fmt.Errorf("%s: from host %s: %w", m.Path, h, err)
		}
		if err := copyTree(real, dst); err != nil {
			return fmt.Errorf("%s: from host %s: %w", m.Path, h, err)
		}
	}
	return nil
}
