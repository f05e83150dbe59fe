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
