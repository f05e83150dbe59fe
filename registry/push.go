package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Push pushes the chain tagged chain in s to ref (HOST[:PORT]/REPO[:TAG];
// the tag defaults to the chain name): its layer blobs, its config and its
// manifest. Blobs the repository already has are not uploaded again. A
// registry that refuses the manifest's artifactType gets the same manifest
// without it. It returns the manifest digest in the registry.
func Push(ctx context.Context, s *Store, chain, ref string, opts ...Option) (string, error) {
	o := makeOptions(opts)
	c, m, md, err := s.Chain(chain)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", chain, err)
	}
	r, err := parseRef(ref, c.Name, o)
	if err != nil {
		return "", err
	}
	if dr, ok := r.(name.Digest); ok && dr.DigestStr() != md {
		return "", fmt.Errorf("push %s to %s: the chain's manifest digest is %s", chain, ref, md)
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
	prog := newProgress(o.progress)
	defer prog.close()
	blobs := append([]ocispec.Descriptor{m.Config}, m.Layers...)
	if err := pushBlobs(ctx, s.BlobPath, r.Context(), blobs, o, prog, ropts); err != nil {
		return "", fmt.Errorf("push %s to %s: %w", chain, ref, err)
	}
	raw, err := s.ReadBlob(md)
	if err != nil {
		return "", err
	}
	err = remote.Put(r, rawManifest(raw), ropts...)
	if err != nil && refusesArtifactType(err) && m.ArtifactType != "" {
		o.logger.Info("registry refused artifactType; pushing the manifest without it", "ref", ref, "err", err)
		cfg, rerr := s.ReadBlob(string(m.Config.Digest))
		if rerr != nil {
			return "", rerr
		}
		if raw, err = chainManifest(c, cfg, false); err != nil {
			return "", err
		}
		err = remote.Put(r, rawManifest(raw), ropts...)
	}
	if err != nil {
		return "", fmt.Errorf("push %s to %s: manifest: %w", chain, ref, err)
	}
	d := digestBytes(raw)
	o.logger.Debug("pushed", "chain", chain, "ref", ref, "digest", d)
	return d, nil
}

// pushBlobs uploads the blobs descs that repo lacks, o.jobs at a time,
// reading each from the file pathOf(digest).
func pushBlobs(ctx context.Context, pathOf func(digest string) string, repo name.Repository, descs []ocispec.Descriptor, o *options, prog *progress, ropts []remote.Option) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, o.jobs)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		seen     = map[string]bool{}
	)
	for _, desc := range descs {
		if seen[string(desc.Digest)] {
			continue
		}
		seen[string(desc.Digest)] = true
		title := desc.Annotations[AnnotationTitle]
		if title == "" {
			title = "config " + string(desc.Digest)[7:19]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			bp := prog.start(title, desc.Size)
			l := &storeLayer{path: pathOf(string(desc.Digest)), desc: desc, bp: bp}
			if err := remote.WriteLayer(repo, l, append(ropts, remote.WithContext(ctx))...); err != nil {
				bp.done("failed")
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("blob %s (%s): %w", title, desc.Digest, err)
					cancel()
				}
				mu.Unlock()
				return
			}
			if l.read() == 0 {
				bp.done("exists")
			} else {
				bp.done("pushed")
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

// storeLayer is a blob of the store as a v1.Layer, counting the bytes read.
type storeLayer struct {
	path string
	desc ocispec.Descriptor
	bp   *blobProgress
	mu   sync.Mutex
	n    int64
}

func (l *storeLayer) Digest() (v1.Hash, error) { return v1.NewHash(string(l.desc.Digest)) }
func (l *storeLayer) DiffID() (v1.Hash, error) { return l.Digest() }
func (l *storeLayer) Size() (int64, error)     { return l.desc.Size, nil }
func (l *storeLayer) MediaType() (types.MediaType, error) {
	return types.MediaType(l.desc.MediaType), nil
}
func (l *storeLayer) Uncompressed() (io.ReadCloser, error) { return l.Compressed() }

func (l *storeLayer) Compressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	return &countingReader{f: f, l: l}, nil
}

func (l *storeLayer) read() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

type countingReader struct {
	f *os.File
	l *storeLayer
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.l.mu.Lock()
	c.l.n += int64(n)
	c.l.mu.Unlock()
	c.l.bp.add(int64(n))
	return n, err
}

func (c *countingReader) Close() error { return c.f.Close() }
