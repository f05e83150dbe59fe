package maker

import (
	"context"
	"os"
	"path/filepath"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/modules"
	"github.com/mode-build/mode/squashfs"
)

// tree is a module's finished tree (modules.Tree): root, in the scratch
// directory dir (named like a workspace, so that a killed build's is swept).
type tree struct {
	mk   *Maker
	m    *modules.Module
	dir  string
	root string
	meta layers.Meta
}

var _ modules.TreeMaker = (*Maker)(nil)

// adopt moves upper (a sealed workspace's cleaned upper) into a new scratch
// directory as t's root.
func (t *tree) adopt(upper string) error {
	dir, err := os.MkdirTemp(t.mk.scratch(), scratchPrefix("ws"))
	if err != nil {
		return err
	}
	t.dir, t.root = dir, filepath.Join(dir, "root")
	if err := os.Rename(upper, t.root); err != nil {
		os.RemoveAll(dir)
		t.dir = ""
		return err
	}
	return nil
}

func (t *tree) Dir() string { return t.root }

func (t *tree) Meta() layers.Meta { return t.meta }

// Squash writes the layer of the tree to dst with mksquashfs, at a lower
// CPU and I/O priority (squashfs.SquashBackground): in a pipelined build it
// runs beside the next layer's steps, which should not wait for it.
func (t *tree) Squash(ctx context.Context, dst string) error {
	t.mk.phase(t.m, "squash")
	squash := squashfs.SquashBackground
	if t.mk.loudSquash {
		squash = squashfs.SquashProgress
	}
	err := squash(ctx, t.root, dst, t.mk.Compression, t.mk.fraction(t.m, "squash"))
	return explainNoSpace(err, t.mk.scratch(), filepath.Dir(dst))
}

// Close removes the tree.
func (t *tree) Close() error {
	if t.dir == "" {
		return nil
	}
	err := os.RemoveAll(t.dir)
	t.dir = ""
	return err
}
