package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/mode-build/mode/registry/store"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Source is a chain to push, as go-containerregistry's remote.Write takes any
// v1.Image: its manifest and a way to open each blob the manifest names.
// A chain of the store (store.Stored) and layer files (store.Files) are sources.
type Source interface {
	Manifest() ([]byte, error)
	Blob(d digest.Digest) (io.ReadCloser, error)
}

// Push pushes the chain src to ref (HOST[:PORT]/REPO[:TAG|@DIGEST]; the tag
// defaults to the chain name): its config and layer blobs, then its
// manifest. Blobs the repository already has are not read nor uploaded. A
// registry that refuses the manifest's artifactType gets the same manifest
// without it. It returns the manifest digest in the registry.
func Push(ctx context.Context, src Source, ref string, opts ...Option) (digest.Digest, error) {
	o := makeOptions(opts)
	raw, err := src.Manifest()
	if err != nil {
		return "", fmt.Errorf("push to %s: %w", ref, err)
	}
	m, err := store.ParseChainManifest(raw)
	if err != nil {
		return "", fmt.Errorf("push to %s: %w", ref, err)
	}
	chain := m.Annotations[store.AnnotationChain]
	r, err := parseRef(ref, chain, o)
	if err != nil {
		return "", err
	}
	if dr, ok := r.(name.Digest); ok && dr.DigestStr() != string(digest.FromBytes(raw)) {
		return "", fmt.Errorf("push %s to %s: the chain's manifest digest is %s", chain, ref, digest.FromBytes(raw))
	}
	// Connect (with retries) and authenticate once; remote takes the
	// authenticated transport as it is.
	cl, err := o.client(ctx, r.Context(), transport.PushScope)
	if err != nil {
		return "", fmt.Errorf("push %s to %s: %w", chain, ref, err)
	}
	ropts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(cl.Transport),
		remote.WithRetryBackoff(remote.Backoff{Duration: o.backoff, Factor: 2, Jitter: 0.1, Steps: o.retries + 1, Cap: maxBackoff}),
	}
	blobs := append([]ocispec.Descriptor{m.Config}, m.Layers...)
	if err := pushBlobs(ctx, src, r.Context(), blobs, o, ropts); err != nil {
		return "", fmt.Errorf("push %s to %s: %w", chain, ref, err)
	}
	err = remote.Put(r, rawManifest(raw), ropts...)
	if err != nil && refusesArtifactType(err) && m.ArtifactType != "" {
		o.logger.Info("registry refused artifactType; pushing the manifest without it", "ref", ref, "err", err)
		m.ArtifactType = ""
		if raw, err = json.MarshalIndent(m, "", "  "); err != nil {
			return "", err
		}
		err = remote.Put(r, rawManifest(raw), ropts...)
	}
	if err != nil {
		return "", fmt.Errorf("push %s to %s: manifest: %w", chain, ref, err)
	}
	d := digest.FromBytes(raw)
	o.logger.Debug("pushed", "chain", chain, "ref", ref, "digest", d)
	return d, nil
}

// pushBlobs uploads the blobs descs that repo lacks, o.jobs at a time.
func pushBlobs(ctx context.Context, src Source, repo name.Repository, descs []ocispec.Descriptor, o *options, ropts []remote.Option) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, o.jobs)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		seen     = map[digest.Digest]bool{}
	)
	for _, desc := range descs {
		if seen[desc.Digest] {
			continue
		}
		seen[desc.Digest] = true
		title := desc.Annotations[store.AnnotationTitle]
		if title == "" {
			title = "config"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t := startTracker(o.progress, title, desc.Digest, desc.Size)
			l := &sourceLayer{src: src, desc: desc, t: t}
			if err := remote.WriteLayer(repo, l, append(ropts, remote.WithContext(ctx))...); err != nil {
				t.done(Failed)
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("blob %s (%s): %w", title, desc.Digest, err)
					cancel()
				}
				mu.Unlock()
				return
			}
			if t.moved() == 0 {
				t.done(Exists)
			} else {
				t.done(Pushed)
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// refusesArtifactType reports whether a manifest PUT failed in a way that a
// registry without image-spec 1.1 support answers an artifactType with.
func refusesArtifactType(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	return te.StatusCode == http.StatusBadRequest || te.StatusCode == http.StatusUnsupportedMediaType
}

// rawManifest is a manifest to remote.Put as it is.
type rawManifest []byte

func (r rawManifest) RawManifest() ([]byte, error)        { return r, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// sourceLayer is a blob of a Source as a v1.Layer, counting the bytes read.
type sourceLayer struct {
	src  Source
	desc ocispec.Descriptor
	t    *tracker
}

func (l *sourceLayer) Digest() (v1.Hash, error) { return v1.NewHash(string(l.desc.Digest)) }
func (l *sourceLayer) DiffID() (v1.Hash, error) { return l.Digest() }
func (l *sourceLayer) Size() (int64, error)     { return l.desc.Size, nil }
func (l *sourceLayer) MediaType() (types.MediaType, error) {
	return types.MediaType(l.desc.MediaType), nil
}
func (l *sourceLayer) Uncompressed() (io.ReadCloser, error) { return l.Compressed() }

func (l *sourceLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.src.Blob(l.desc.Digest)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.TeeReader(rc, l.t), rc}, nil
}
