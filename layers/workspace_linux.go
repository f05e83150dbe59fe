package layers

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// Workspace is a module's writable root: the layers of its parent chain
// loop-mounted read-only, merged under an empty upper directory. It owns every
// mount and loop device it makes; Close releases all of them, in any state.
type Workspace struct {
	Dir   string // the scratch directory holding everything below
	Root  string // the merged tree the steps run in
	Lower string // the parent chain alone, read-only: what the upper is compared with
	Upper string // the upper directory: the module's diff

	mounted []string // mount targets, in mount order
}

// OpenWorkspace mounts parents (layer files, base first) under a fresh upper
// in a new directory below scratch.
func OpenWorkspace(parents []string, scratch string) (w *Workspace, err error) {
	if len(parents) == 0 {
		return nil, errors.New("workspace: no parent layers")
	}
	dir, err := os.MkdirTemp(scratch, "ws-")
	if err != nil {
		return nil, err
	}
	w = &Workspace{Dir: dir, Root: filepath.Join(dir, "root"), Upper: filepath.Join(dir, "upper")}
	defer func() {
		if err != nil {
			w.Close()
		}
	}()
	var lowers []string // top first
	for i, p := range parents {
		target := filepath.Join(dir, "l", strconv.Itoa(i))
		if err := os.MkdirAll(target, 0o755); err != nil {
			return w, err
		}
		if err := MountSquashfs(p, target); err != nil {
			return w, err
		}
		w.mounted = append(w.mounted, target)
		lowers = append([]string{target}, lowers...)
	}
	w.Lower = lowers[0]
	if len(lowers) > 1 {
		w.Lower = filepath.Join(dir, "lower")
		if err := w.mount(Overlay(lowers, "", "", w.Lower)); err != nil {
			return w, err
		}
	}
	work := filepath.Join(dir, "work")
	for _, d := range []string{w.Upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return w, err
		}
	}
	if err := copyRootAttrs(w.Lower, w.Upper); err != nil {
		return w, err
	}
	if err := w.mount(Overlay(lowers, w.Upper, work, w.Root)); err != nil {
		return w, err
	}
	return w, nil
}

func (w *Workspace) mount(m Mount) error {
	if err := m.Mount(); err != nil {
		return err
	}
	w.mounted = append(w.mounted, m.Target)
	return nil
}

// Seal unmounts the merged root, so the upper directory can be read and
// changed safely. The parent chain stays mounted at Lower.
func (w *Workspace) Seal() error {
	i := slices.Index(w.mounted, w.Root)
	if i < 0 {
		return nil
	}
	if err := Unmount(w.Root); err != nil {
		return err
	}
	w.mounted = slices.Delete(w.mounted, i, i+1)
	return nil
}

// Close unmounts everything in reverse order (freeing the loop devices,
// which autoclear) and removes the scratch directory.
func (w *Workspace) Close() error {
	var errs []error
	for i := len(w.mounted) - 1; i >= 0; i-- {
		if err := Unmount(w.mounted[i]); err != nil {
			errs = append(errs, err)
		}
	}
	w.mounted = nil
	if len(errs) == 0 {
		if err := os.RemoveAll(w.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("workspace %s: %w", w.Dir, err)
	}
	return nil
}

// copyRootAttrs gives dst the owner and mode of src, so the layer's root
// directory does not change the lower one's.
func copyRootAttrs(src, dst string) error {
	var st unix.Stat_t
	if err := unix.Lstat(src, &st); err != nil {
		return err
	}
	if err := os.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	return unix.Chmod(dst, st.Mode&0o7777)
}
