package remote

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/mode-build/mode/store"
	"github.com/opencontainers/go-digest"
)

// Chain fetches only the manifest and config of the chain at ref (no layer):
// what a caller needs to decide which layers it wants, with every layer's
// metadata and digest. It returns the config and the manifest digest.
func Chain(ctx context.Context, ref string, opts ...Option) (*store.Chain, digest.Digest, error) {
	o := makeOptions(opts)
	r, err := parseRef(ref, "", o)
	if err != nil {
		return nil, "", err
	}
	cl, err := o.client(ctx, r.Context(), transport.PullScope)
	if err != nil {
		return nil, "", fmt.Errorf("chain %s: %w", ref, err)
	}
	p := &puller{o: o, cl: cl, repo: r.Context()}
	raw, _, md, err := p.manifest(ctx, r)
	if err != nil {
		return nil, "", fmt.Errorf("chain %s: %w", ref, err)
	}
	m, err := store.ParseChainManifest(raw)
	if err != nil {
		return nil, "", fmt.Errorf("chain %s: %w", ref, err)
	}
	cfg, err := p.smallBlob(ctx, m.Config, maxConfig)
	if err != nil {
		return nil, "", fmt.Errorf("chain %s: config: %w", ref, err)
	}
	c, err := store.ParseChainConfig(cfg, m)
	if err != nil {
		return nil, "", fmt.Errorf("chain %s: %w", ref, err)
	}
	return c, md, nil
}
