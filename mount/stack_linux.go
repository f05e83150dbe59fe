package mount

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// Stack is a Plan performed: it owns every mount and loop device it made and
// releases all of them, in any state, with one Close. Build, shell, save and
// the init all stack layers through it.
type Stack struct {
	Plan
	mounted []string // mount targets, in mount order
}

// Open performs p. On failure it undoes what it did and returns the error.
func Open(p Plan) (s *Stack, err error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	s = &Stack{Plan: p}
	defer func() {
		if err != nil {
			if cerr := s.Close(); cerr != nil {
				err = errors.Join(err, cerr)
			}
			s = nil
		}
	}()
	for _, m := range p.Mounts() {
		if m.Target == p.Root && p.Upper != "" {
			if err := s.prepareUpper(); err != nil {
				return s, err
			}
		}
		if m.Type == "squashfs" {
			err = MountSquashfs(m.Source, m.Target)
		} else {
			err = m.Mount()
		}
		if err != nil {
			return s, err
		}
		s.mounted = append(s.mounted, m.Target)
	}
	return s, nil
}

// OpenWorkspace mounts files (layer images, base first) as a module's
// writable root (Workspace) in a new directory below scratch, named prefix
// and a random number (os.MkdirTemp).
func OpenWorkspace(files []string, scratch, prefix string) (*Stack, error) {
	ls := make([]Layer, len(files))
	for i, f := range files {
		ls[i] = Layer{File: f}
	}
	return OpenWorkspaceOf(ls, scratch, prefix)
}

// prepareUpper creates the upper and work directories and, with
// UpperAttrs, gives the upper the lower root's owner and mode.
func (s *Stack) prepareUpper() error {
	for _, d := range []string{s.Upper, s.Work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if !s.UpperAttrs {
		return nil
	}
	lower := s.Lower
	if lower == "" {
		lower = s.Layers[len(s.Layers)-1].Target
	}
	var st unix.Stat_t
	if err := unix.Lstat(lower, &st); err != nil {
		return err
	}
	if err := os.Lchown(s.Upper, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	return unix.Chmod(s.Upper, st.Mode&0o7777)
}

// Seal unmounts the merged root, so the upper directory can be read and
// changed safely. The layers stay mounted at Lower.
func (s *Stack) Seal() error {
	i := slices.Index(s.mounted, s.Root)
	if s.Root == "" || i < 0 {
		return nil
	}
	if err := Unmount(s.Root); err != nil {
		return err
	}
	s.mounted = slices.Delete(s.mounted, i, i+1)
	return nil
}

// Close unmounts everything in reverse order (freeing the loop devices,
// which autoclear) and, when all went well, removes Dir.
func (s *Stack) Close() error {
	var errs []error
	for i := len(s.mounted) - 1; i >= 0; i-- {
		if err := Unmount(s.mounted[i]); err != nil {
			errs = append(errs, err)
		}
	}
	s.mounted = nil
	if len(errs) == 0 && s.Dir != "" {
		if err := RemoveUnmounted(s.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stack %s: %w", s.where(), err)
	}
	return nil
}

func (s *Stack) where() string {
	for _, p := range []string{s.Dir, s.Root, s.Lower} {
		if p != "" {
			return p
		}
	}
	return "(empty)"
}

// IsMountPoint tells whether the directory p is on another file system than
// its parent.
func IsMountPoint(p string) bool {
	var a, b unix.Stat_t
	if unix.Lstat(p, &a) != nil || a.Mode&unix.S_IFMT != unix.S_IFDIR || unix.Lstat(filepath.Dir(p), &b) != nil {
		return false
	}
	return a.Dev != b.Dev
}
