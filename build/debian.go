package build

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/mode-build/mode/chroot"
	"github.com/mode-build/mode/debian"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/modules"
)

// The Debian half of making a layer: bootstrapping a base, the apt-get steps,
// the shared apt cache and the dpkg diff. The work is in package debian.

// apts holds each Maker's apt state, so that one Maker (one build run)
// updates each set of apt sources once.
var apts sync.Map // *Maker → *debian.Apt

// aptCache returns the shared apt cache, made if missing.
func aptCache() (string, error) {
	cache, err := debian.CacheDir()
	if err != nil {
		return "", fmt.Errorf("apt cache: %w", err)
	}
	if err := os.MkdirAll(debian.Archives(cache), 0o755); err != nil {
		return "", fmt.Errorf("apt cache: %w", err)
	}
	return cache, nil
}

// bootstrap fills dir (an empty directory) with m.Bootstrap's root tree. With
// no mirror in the module, the host's apt sources give it. Downloads land in
// the shared cache; on failure dir is left empty.
func (mk *Maker) bootstrap(ctx context.Context, m *modules.Module, dir string) error {
	cache, err := aptCache()
	if err != nil {
		return err
	}
	b := m.Bootstrap
	var host []debian.Source
	if b.Mirror == "" {
		if host, err = debian.ReadSources(debian.HostApt); err != nil {
			return fmt.Errorf("bootstrap: host apt sources: %w", err)
		}
	}
	scratch, err := os.MkdirTemp(mk.scratch(), "bootstrap-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	c, err := debian.Plan(debian.Bootstrap{Tool: b.Tool, Suite: b.Suite, Variant: b.Variant, Include: b.Include,
		Components: b.Components, Architecture: b.Architecture, Mirror: b.Mirror},
		dir, debian.Archives(cache), scratch, host, debian.HostCodename())
	if err != nil {
		return err
	}
	mk.log().Info("bootstrap", "module", m.Name, "tool", c.Tool, "args", c.Args)
	r := &debian.Runner{Log: mk.Stderr, Retry: debian.DefaultRetry}
	return r.Run(ctx, c, dir)
}

// apt runs m's remove and packages steps in the mounted root through run
// (which runs argv in a chroot of root with mk's binds and env).
func (mk *Maker) apt(ctx context.Context, m *modules.Module, root string, run func(ctx context.Context, argv ...string) error) error {
	cache, err := aptCache()
	if err != nil {
		return err
	}
	v, _ := apts.LoadOrStore(mk, &debian.Apt{Cache: cache, Retry: debian.DefaultRetry})
	envRun := func(ctx context.Context, argv ...string) error {
		return run(ctx, append(append([]string{"/usr/bin/env"}, debian.Env...), argv...)...)
	}
	return v.(*debian.Apt).Run(ctx, root, m.Remove, m.Packages, envRun)
}

// aptBinds lists the extra bind mounts of a build chroot: the shared apt
// cache, at a path under the chroot's own /run, never in a layer.
func (mk *Maker) aptBinds() []chroot.Bind {
	cache, err := aptCache()
	if err != nil {
		return nil // apt steps fail on the same error, with its cause
	}
	return []chroot.Bind{{Source: cache, Target: debian.ChrootCache}}
}

// packages returns the dpkg diff between the lower root (the parent chain, ""
// for a base) and the merged root after the steps; nil when there is no dpkg
// database or nothing changed.
func (mk *Maker) packages(lowerRoot, root string) (*layers.Packages, error) {
	before, err := debian.ReadStatus(lowerRoot)
	if err != nil {
		return nil, err
	}
	after, err := debian.ReadStatus(root)
	if err != nil {
		return nil, err
	}
	p := debian.Diff(before, after)
	if len(p.Added) == 0 && len(p.Removed) == 0 && len(p.Upgraded) == 0 {
		return nil, nil
	}
	return p, nil
}
