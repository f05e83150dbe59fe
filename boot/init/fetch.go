package modeinit

import (
	"fmt"
	"strings"

	"github.com/mode-build/mode/layers"
)

// fetch gets the chain's layers: from local media with mode.from, else from
// the registry (into the cache disk with mode.cache, else into RAM).
func (b *boot) fetch() (string, error) {
	if b.p.from == "" {
		return b.pull()
	}
	dir, err := b.source(b.p.from, false)
	if err != nil {
		return "", fmt.Errorf("mode.from=%s: %w", b.p.from, err)
	}
	metas, err := localChain(dir, b.p.ref)
	if err != nil {
		return "", fmt.Errorf("mode.from=%s: %w", b.p.from, err)
	}
	if metas, err = b.signedLocal(dir, metas); err != nil {
		return "", err
	}
	metas = b.filter(metas)
	if err := verifyLocal(dir, metas); err != nil {
		return "", fmt.Errorf("mode.from=%s: %w", b.p.from, err)
	}
	linkMedium(dir)
	b.dl = &download{
		name:  strings.TrimSuffix(metas[len(metas)-1].File, ".sqfs"),
		ref:   b.p.from,
		metas: metas,
		dir:   dir,
	}
	return fmt.Sprintf("found %d layers of %s, %s in %s, digests verified",
		len(b.dl.metas), b.dl.name, layers.Size(b.dl.size()), b.p.from), nil
}

// filter applies mode.load and mode.noload to the layers above the base.
func (b *boot) filter(metas []layers.Meta) []layers.Meta {
	out := metas[:1:1]
	for _, m := range metas[1:] {
		if b.p.wanted(m.Name) {
			out = append(out, m)
		} else {
			b.logf("layer %s left out (mode.load/mode.noload)", m.File)
		}
	}
	return out
}
