package activate

import (
	"path/filepath"
	"strconv"

	"github.com/mode-build/mode/mount"
)

// Root is the running system's root overlay as mountinfo shows it.
type Root struct {
	Dir    string   // where it is mounted: "/"
	Lowers []string // the booted layers' directories, top first
	Upper  string   // its upper directory (the changes)
	Work   string   // its work directory
}

// WorkBase is where directory overlays get their work directories: beside
// the root's own, so on the same file system and mount as the upper.
func (r Root) WorkBase() string { return filepath.Join(filepath.Dir(r.Work), ".activate-work") }

// Layer is what a directory overlay needs to know of an active module.
type Layer struct {
	Mount string   // where the module's layer is mounted
	Dirs  []string // the top-level directories it covers
}

func (l Layer) covers(d string) bool {
	for _, x := range l.Dirs {
		if x == d {
			return true
		}
	}
	return false
}

// Tree answers what a directory overlay must know of the layers' content:
// whether a directory exists, and whether it is opaque (hides those below).
type Tree interface {
	IsDir(path string) bool
	Opaque(path string) bool
}

// DirMount returns the overlay mount of top-level directory d for the
// active layers (activation order, the last on top) over root, with work
// directory generation gen, or false when no active layer covers d. The
// lowers are, top first, each covering module's d then each booted layer's
// d that exists, down to the first opaque one: what the root overlay would
// stack at d with the modules as its top layers. The upper is the root's
// upper directory's d, so changes land where the root would put them.
func DirMount(root Root, active []Layer, d string, gen int, t Tree) (mount.Mount, bool) {
	var lowers []string
	covered := false
	for i := len(active) - 1; i >= 0; i-- {
		if !active[i].covers(d) {
			continue
		}
		covered = true
		p := filepath.Join(active[i].Mount, d)
		lowers = append(lowers, p)
		if t.Opaque(p) {
			return overlay(root, lowers, d, gen), true
		}
	}
	if !covered {
		return mount.Mount{}, false
	}
	for _, l := range root.Lowers {
		p := filepath.Join(l, d)
		if !t.IsDir(p) {
			continue
		}
		lowers = append(lowers, p)
		if t.Opaque(p) {
			break
		}
	}
	return overlay(root, lowers, d, gen), true
}

func overlay(root Root, lowers []string, d string, gen int) mount.Mount {
	return mount.Overlay(lowers, filepath.Join(root.Upper, d), root.WorkDir(d, gen), filepath.Join(root.Dir, d))
}

// WorkDir is the work directory of the overlay of d, generation gen.
func (r Root) WorkDir(d string, gen int) string {
	return filepath.Join(r.WorkBase(), d+"."+strconv.Itoa(gen))
}

// Layers returns the active modules of s as Layers, in activation order.
func (s *State) Layers() []Layer {
	out := make([]Layer, len(s.Modules))
	for i, m := range s.Modules {
		out[i] = Layer{Mount: m.Mount, Dirs: m.Dirs}
	}
	return out
}
