package mount

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
)

// Layer is one squashfs layer of a stack: the image File, loop-mounted
// read-only at Target, or, when Mounted, already mounted at Target by someone
// else (a booted system's /run/mode/layers), used as it is and never unmounted.
type Layer struct {
	File    string
	Target  string
	Mounted bool
}

// Plan is a stack of layers as a value: which layer is mounted where, where
// they are merged read-only (Lower), and where they are merged under a
// writable upper directory (Root). Computing a plan does no I/O; Mounts lists
// what Open will mount, in order, so tests check a stack as data.
type Plan struct {
	// Dir is a scratch directory the stack owns: Close removes it once
	// everything under it is unmounted. Empty when the stack owns none.
	Dir string
	// Layers are the layers, base first.
	Layers []Layer
	// Lower is where the layers are merged read-only: what an upper is
	// compared with. With one layer it is that layer's Target; empty for none.
	Lower string
	// Upper and Work are the overlay upper and work directories of Root.
	Upper, Work string
	// Root is the merged tree (the layers under Upper); empty for none.
	Root string
	// UpperAttrs gives Upper the owner and mode of the lower root directory
	// before Root is mounted, so a layer's root does not change its parent's.
	UpperAttrs bool
}

// Workspace plans a module's writable root in dir: files (layer images, base
// first) mounted at dir/l/0…, merged read-only at dir/lower (the first
// layer's mount when alone), and under dir/upper at dir/root.
func Workspace(files []string, dir string) Plan {
	p := Plan{Dir: dir, Upper: filepath.Join(dir, "upper"), Work: filepath.Join(dir, "work"),
		Root: filepath.Join(dir, "root"), UpperAttrs: true}
	for i, f := range files {
		p.Layers = append(p.Layers, Layer{File: f, Target: filepath.Join(dir, "l", strconv.Itoa(i))})
	}
	p.Lower = lowerOf(p.Layers, filepath.Join(dir, "lower"))
	return p
}

// Merged plans layers merged read-only at lower (the first layer's own
// mount when there is only one). It mounts no writable root.
func Merged(layers []Layer, lower string) Plan {
	return Plan{Layers: layers, Lower: lowerOf(layers, lower)}
}

// Root plans layers stacked under upper (with its work directory) at root,
// as a booted system's root: no separate read-only merge.
func Root(layers []Layer, upper, work, root string) Plan {
	return Plan{Layers: layers, Upper: upper, Work: work, Root: root}
}

func lowerOf(layers []Layer, merged string) string {
	switch len(layers) {
	case 0:
		return ""
	case 1:
		return layers[0].Target
	}
	return merged
}

// Check returns an error naming what is missing from p.
func (p Plan) Check() error {
	if len(p.Layers) == 0 {
		return errors.New("stack: no layers")
	}
	for i, l := range p.Layers {
		if l.Target == "" || (l.File == "" && !l.Mounted) {
			return fmt.Errorf("stack: layer %d has no file or no target", i+1)
		}
	}
	if p.Root != "" && (p.Upper == "") != (p.Work == "") {
		return fmt.Errorf("stack: root %s: an upper directory needs a work directory", p.Root)
	}
	if p.Root == "" && p.Lower == "" {
		return errors.New("stack: neither a lower nor a root to mount")
	}
	return nil
}

// lowers returns the layers' targets top first, as overlayfs wants them.
func (p Plan) lowers() []string {
	out := make([]string, len(p.Layers))
	for i, l := range p.Layers {
		out[len(p.Layers)-1-i] = l.Target
	}
	return out
}

// Mounts returns the mounts Open performs, in order: each layer not already
// Mounted (Type squashfs, Source its image file: Open attaches a loop device
// in its place), the read-only merge at Lower when there are several layers,
// then Root.
func (p Plan) Mounts() []Mount {
	var ms []Mount
	for _, l := range p.Layers {
		if !l.Mounted {
			ms = append(ms, Mount{Type: "squashfs", Source: l.File, Target: l.Target, Flags: readOnly})
		}
	}
	if p.Lower != "" && len(p.Layers) > 1 {
		ms = append(ms, Overlay(p.lowers(), "", "", p.Lower))
	}
	if p.Root != "" {
		ms = append(ms, Overlay(p.lowers(), p.Upper, p.Work, p.Root))
	}
	return ms
}

// readOnly is MS_RDONLY, written out so that plans compute on any GOOS.
const readOnly = 0x1
