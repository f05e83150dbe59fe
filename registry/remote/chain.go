package remote

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/mode-build/mode/registry/store"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Chain fetches only the manifest and config of the chain at ref (no layer):
// what a caller needs to decide which layers it wants, with every layer's
// metadata and digest. It returns the config and the manifest digest.
func Chain(ctx context.Context, ref string, opts ...Option) (*store.Chain, digest.Digest, error) {
	f, err := fetchChain(ctx, ref, makeOptions(opts), "chain")
	if err != nil {
		return nil, "", err
	}
	return f.chain, f.digest, nil
}

// fetched is a chain's manifest and config, read and checked, and the puller
// that read them (for its layers).
type fetched struct {
	p         *puller
	ref       name.Reference
	from      string // the registry that served the manifest
	raw       []byte // the manifest as served
	mediaType string
	digest    digest.Digest
	manifest  *ocispec.Manifest
	config    []byte
	chain     *store.Chain
	// index and indexDigest are the image index ref named, when it named
	// one; ref, raw and digest are then its entry's.
	index       []byte
	indexDigest digest.Digest
}

// fetchChain reads the manifest and config of the chain at ref; errors start
// with verb and ref.
func fetchChain(ctx context.Context, ref string, o *options, verb string) (*fetched, error) {
	r, err := parseRef(ref, "", o)
	if err != nil {
		return nil, err
	}
	srcs, err := sources(r, o)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", verb, ref, err)
	}
	f := &fetched{p: &puller{o: o, srcs: srcs}, ref: r}
	// The first registry that answers resolves a tag; the pull is then
	// pinned to that manifest's digest: every other registry is asked for
	// blobs by digest only, so a mirror whose tag moved changes nothing.
	err = f.p.each(ctx, "manifest", func(s *source) error {
		var err error
		f.raw, f.mediaType, f.digest, err = s.manifest(ctx, r)
		if err == nil {
			f.from = s.String()
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", verb, ref, err)
	}
	if f.mediaType == store.IndexMediaType {
		// One tag, every architecture: the entry for this machine's (or
		// WithPlatform's), fetched by its digest.
		f.index, f.indexDigest = f.raw, f.digest
		if f.ref, err = pickPlatform(f.raw, r, o); err != nil {
			return nil, fmt.Errorf("%s %s: %w", verb, ref, err)
		}
		err = f.p.each(ctx, "manifest", func(s *source) error {
			var err error
			f.raw, f.mediaType, f.digest, err = s.manifest(ctx, f.ref)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", verb, ref, err)
		}
		if f.mediaType != store.ManifestMediaType {
			return nil, fmt.Errorf("%s %s: %w: the index's entry is itself an index", verb, ref, store.ErrNotChain)
		}
	}
	if f.manifest, err = store.ParseChainManifest(f.raw); err != nil {
		return nil, fmt.Errorf("%s %s: %w", verb, ref, err)
	}
	if f.config, err = f.p.smallBlob(ctx, f.manifest.Config, maxConfig); err != nil {
		return nil, fmt.Errorf("%s %s: config: %w", verb, ref, err)
	}
	if f.chain, err = store.ParseChainConfig(f.config, f.manifest); err != nil {
		return nil, fmt.Errorf("%s %s: %w", verb, ref, err)
	}
	if f.index != nil {
		if arch, err := chainArch(f.chain); err != nil || arch != o.arch() {
			return nil, fmt.Errorf("%s %s: %w: the index's %s entry is a chain for %s (%v)", verb, ref, store.ErrNotChain, o.arch(), arch, err)
		}
	}
	return f, nil
}
