package modules

import (
	"context"

	"github.com/mode-build/mode/layers"
)

// Maker turns one module into a layer file. The build package implements it
// with loop mounts, overlayfs, a chroot and mksquashfs; tests use fakes.
type Maker interface {
	// Make writes the layer of m to dst, a temporary path in the output
	// directory that the Builder renames when all went well. parents are the
	// layer files of m's parent chain, base first; empty for a base module.
	// It fills what only making the layer tells: Pruned and Packages. The
	// Builder fills the rest of the Meta.
	Make(ctx context.Context, m *Module, parents []string, dst string) (layers.Meta, error)
}

// TreeMaker is a Maker that hands a module's finished tree over before it
// is squashed. With one, a Builder with Jobs set squashes a layer in the
// background while its children already build on its tree, and builds
// siblings side by side.
type TreeMaker interface {
	Maker
	// Tree makes m's finished, cleaned tree over parents (base first: each
	// a layer file or, while that is being squashed, an ancestor's finished
	// Tree directory). When Tree returns it no longer uses any parent's
	// directory: nothing of it stays mounted.
	Tree(ctx context.Context, m *Module, parents []Lower) (Tree, error)
}

// Lower is one layer of a parent chain as a child mounts it: its layer
// File, or the Dir of its finished tree (an overlayfs lower may be a plain
// directory; its whiteouts and opaque directories count as in a layer file).
type Lower struct {
	File string
	Dir  string
}

// Tree is a module's finished tree, made by a TreeMaker. It does not change
// any more; the Builder squashes it once, lets children mount it meanwhile,
// and closes it when the squash and every child are done with it.
type Tree interface {
	// Dir is the tree: what the layer holds.
	Dir() string
	// Meta has what making the tree told: Pruned, Excluded, Packages.
	Meta() layers.Meta
	// Squash writes the layer of the tree to dst, as Maker.Make does.
	Squash(ctx context.Context, dst string) error
	// Close removes the tree.
	Close() error
}
