package build

import (
	"context"
	"errors"

	"github.com/mode-build/mode/chroot"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/modules"
)

// The Debian half of making a layer. Placeholders until the debian package lands.

var errNoDebian = errors.New("Debian bootstrap and apt steps are not available in this build yet")

func (mk *Maker) bootstrap(ctx context.Context, m *modules.Module, dir string) error {
	return errNoDebian
}

func (mk *Maker) apt(ctx context.Context, m *modules.Module, root string, run func(ctx context.Context, argv ...string) error) error {
	return errNoDebian
}

func (mk *Maker) aptBinds() []chroot.Bind { return nil }

func (mk *Maker) packages(lowerRoot, root string) (*layers.Packages, error) { return nil, nil }
