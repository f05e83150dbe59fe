package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// PushFiles pushes a chain named name made of layer files ls (base first,
// each Meta with its Digest, Size, File and Name), with parent as the parent
// chain's manifest digest (may be empty), to ref (the tag defaults to name),
// without a store: a booted system saving its changes has its layers as files
// and the registry it booted from has their blobs already. A blob the
// repository has is not read, so the file of such a layer may be missing. It
// returns the manifest digest in the registry.
func PushFiles(ctx context.Context, name string, ls []Layer, parent, ref string, opts ...Option) (string, error) {
	o := makeOptions(opts)
	if len(ls) == 0 {
		return "", fmt.Errorf("push %s: no layers", name)
	}
	c := &Chain{Name: name, Parent: parent}
	paths := map[string]string{}
	for _, l := range ls {
		if err := checkFileName(l.Meta.File); err != nil {
			return "", fmt.Errorf("push %s: %w", name, err)
		}
		if l.Meta.Size <= 0 {
			// Older metadata may lack the size: the file has it.
			fi, err := os.Stat(l.Path)
			if err != nil {
				return "", fmt.Errorf("push %s: layer %s: no size in its metadata and %w", name, l.Meta.File, err)
			}
			l.Meta.Size = fi.Size()
		}
		c.Layers = append(c.Layers, l.Meta)
		paths[l.Meta.Digest] = l.Path
	}
	cfg, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return "", err
	}
	raw, err := chainManifest(c, cfg, true)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", name, err)
	}
	r, err := parseRef(ref, name, o)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "mode-push-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	cfgDigest := digestBytes(cfg)
	paths[cfgDigest] = filepath.Join(dir, "config.json")
	if err := os.WriteFile(paths[cfgDigest], cfg, 0o600); err != nil {
		return "", err
	}
	m, err := parseChainManifest(raw)
	if err != nil {
		return "", err
	}
	auth, err := o.authenticator(r.Context())
	if err != nil {
		return "", err
	}
	ropts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuth(auth),
		remote.WithTransport(o.baseTransport()),
		remote.WithRetryBackoff(remote.Backoff{Duration: o.backoff, Factor: 2, Jitter: 0.1, Steps: o.retries + 1, Cap: maxBackoff}),
	}
	prog := newProgress(o.progress)
	defer prog.close()
	blobs := append([]ocispec.Descriptor{m.Config}, m.Layers...)
	pathOf := func(d string) string { return paths[d] }
	if err := pushBlobs(ctx, pathOf, r.Context(), blobs, o, prog, ropts); err != nil {
		return "", fmt.Errorf("push %s to %s: %w", name, ref, err)
	}
	err = remote.Put(r, rawManifest(raw), ropts...)
	if err != nil && refusesArtifactType(err) {
		o.logger.Info("registry refused artifactType; pushing the manifest without it", "ref", ref, "err", err)
		if raw, err = chainManifest(c, cfg, false); err != nil {
			return "", err
		}
		err = remote.Put(r, rawManifest(raw), ropts...)
	}
	if err != nil {
		return "", fmt.Errorf("push %s to %s: manifest: %w", name, ref, err)
	}
	return digestBytes(raw), nil
}
