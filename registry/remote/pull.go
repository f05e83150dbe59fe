package remote

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/mode-build/mode/registry/store"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Size limits of what Pull reads into memory.
const (
	maxManifest = 4 << 20
	maxConfig   = 16 << 20
)

// manifestAccept lists the manifest media types Pull asks for; all but the
// OCI manifest are refused as not a chain, with a clear message.
var manifestAccept = strings.Join([]string{
	store.ManifestMediaType, store.IndexMediaType,
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
}, ", ")

// Pull fetches the chain at ref (HOST[:PORT]/REPO:TAG or …@sha256:…) and
// writes each layer as dir/<MoDe file name>, verifying digests. It skips a
// layer whose file already exists in dir with the right digest, pulls layers
// in parallel with retries and backoff, resumes interrupted downloads with
// HTTP Range (a partial download is kept as dir/.<file>.<digest>.partial), and
// renames a file into place only when whole and verified. With WithStore the
// chain is also added to the store (dir may then be empty: the layers go to
// the store only): each layer as soon as it is whole, as a hard link of its
// file in dir (store.CommitLink), with one fsync; a layer the store has is
// linked out of it. With WithFilter only the accepted layers are fetched and
// the returned Chain lists only them. It returns the chain config and the
// manifest digest.
func Pull(ctx context.Context, ref, dir string, opts ...Option) (_ *store.Chain, _ digest.Digest, err error) {
	o := makeOptions(opts)
	f, err := fetchChain(ctx, ref, o, "pull")
	if err != nil {
		return nil, "", err
	}
	p, r, raw, mt, md, m, cfg, c := f.p, f.ref, f.raw, f.mediaType, f.digest, f.manifest, f.config, f.chain
	o.logger.Debug("pull", "ref", ref, "digest", md, "chain", c.Name, "layers", len(c.Layers))

	var want []int
	for i, l := range m.Layers {
		if o.filter == nil || o.filter(l.Annotations[store.AnnotationModule]) {
			want = append(want, i)
		}
	}
	toStore := o.store != nil && len(want) == len(m.Layers)
	work := dir
	if dir == "" {
		if o.store == nil {
			return nil, "", fmt.Errorf("pull %s: no output directory and no store", ref)
		}
		// Kept when the pull fails, so that the next one resumes; gc removes it after an hour.
		work = filepath.Join(o.store.TempDir(), "pull-"+md.Encoded()[:16])
		defer func() {
			if err == nil {
				os.RemoveAll(work)
			}
		}()
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, "", fmt.Errorf("pull %s: %w", ref, err)
	}
	if toStore {
		p.storeOnly = dir == ""
		s := o.store
		p.ingest = func(desc ocispec.Descriptor, path string) error {
			if p.storeOnly {
				return s.CommitFile(path, desc.Digest) // verified by the download; one fsync
			}
			_, err := s.CommitLink(path, desc.Digest) // verified too; a hard link where it can; one fsync
			return err
		}
	}
	if err := p.layers(ctx, m, want, work); err != nil {
		return nil, "", fmt.Errorf("pull %s: %w", ref, err)
	}
	if toStore {
		if err := ingest(o.store, r.Context().RepositoryStr(), m, raw, mt, cfg, archTag(c), work, dir == ""); err != nil {
			return nil, "", fmt.Errorf("pull %s: store: %w", ref, err)
		}
	}
	if len(want) != len(c.Layers) {
		ls := c.Layers
		c.Layers = nil
		for _, i := range want {
			c.Layers = append(c.Layers, ls[i])
		}
	}
	return c, md, nil
}

// puller fetches one chain from its registries.
type puller struct {
	o    *options
	srcs []*source // tried in order: the mirrors, then the reference's own

	// ingest, when set, adds each whole layer file to the store; storeOnly:
	// the files are in a scratch directory, the store is where they go.
	ingest    func(desc ocispec.Descriptor, path string) error
	storeOnly bool
}

func (s *source) url(kind, ref string) string {
	reg := s.repo.Registry
	return fmt.Sprintf("%s://%s/v2/%s/%s/%s", reg.Scheme(), reg.RegistryStr(), s.repo.RepositoryStr(), kind, ref)
}

// get GETs url with headers h, retrying; it returns the open response on a
// status in ok.
func (s *source) get(ctx context.Context, url string, h http.Header, ok ...int) (*http.Response, error) {
	var resp *http.Response
	err := s.o.retry(ctx, "GET "+url, func() (err error) {
		resp, err = s.do(ctx, url, h, ok...)
		return err
	})
	return resp, err
}

// do is one try of get.
func (s *source) do(ctx context.Context, url string, h http.Header, ok ...int) (*http.Response, error) {
	cl, err := s.client(ctx) // made by puller.each already
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, permanent{err}
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := cl.Do(req)
	if err != nil {
		return nil, err
	}
	if err := transport.CheckError(resp, ok...); err != nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			return nil, fmt.Errorf("%w (HTTP %d: credentials missing or refused for %s; see docker login)", err, resp.StatusCode, s.repo.RegistryStr())
		}
		return nil, err
	}
	return resp, nil
}

// manifest fetches the manifest of r from s; it returns its bytes, media type and digest.
func (s *source) manifest(ctx context.Context, r name.Reference) ([]byte, string, digest.Digest, error) {
	resp, err := s.get(ctx, s.url("manifests", r.Identifier()), http.Header{"Accept": {manifestAccept}}, http.StatusOK)
	if err != nil {
		return nil, "", "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxManifest+1))
	if err != nil {
		return nil, "", "", fmt.Errorf("manifest %s: %w", r, err)
	}
	if len(raw) > maxManifest {
		return nil, "", "", fmt.Errorf("%w: manifest %s is larger than %d bytes", store.ErrNotChain, r, maxManifest)
	}
	d := digest.FromBytes(raw)
	if dr, ok := r.(name.Digest); ok {
		want := digest.Digest(dr.DigestStr())
		if err := store.CheckDigest(want); err != nil {
			return nil, "", "", permanent{err}
		}
		if d = want.Algorithm().FromBytes(raw); d != want {
			return nil, "", "", fmt.Errorf("manifest %s: %w: content is %s", r, store.ErrDigest, d)
		}
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == store.IndexMediaType {
		return raw, mt, d, nil // fetchChain picks the machine's architecture
	}
	if strings.HasPrefix(mt, "application/vnd.docker.") {
		return nil, "", "", fmt.Errorf("%w: %s has media type %s", store.ErrNotChain, r, mt)
	}
	return raw, store.ManifestMediaType, d, nil // parseChainManifest checks the rest
}

// smallBlob fetches the blob desc into memory and verifies it.
func (p *puller) smallBlob(ctx context.Context, desc ocispec.Descriptor, limit int64) ([]byte, error) {
	if desc.Size > limit {
		return nil, fmt.Errorf("blob %s: %d bytes, more than %d", desc.Digest, desc.Size, limit)
	}
	if s := p.o.store; s != nil {
		if b, err := s.ReadBlob(desc.Digest); err == nil {
			return b, nil
		}
	}
	var b []byte
	err := p.each(ctx, "blob "+string(desc.Digest), func(s *source) error {
		err := s.o.retry(ctx, "blob "+string(desc.Digest), func() error {
			resp, err := s.do(ctx, s.url("blobs", string(desc.Digest)), nil, http.StatusOK)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			b, err = io.ReadAll(io.LimitReader(resp.Body, desc.Size+1))
			return err
		})
		if err != nil {
			return err
		}
		if int64(len(b)) != desc.Size {
			return permanent{fmt.Errorf("blob %s: got %d bytes, want %d", desc.Digest, len(b), desc.Size)}
		}
		if got := desc.Digest.Algorithm().FromBytes(b); got != desc.Digest {
			return permanent{fmt.Errorf("blob %s: %w: content is %s", desc.Digest, store.ErrDigest, got)}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// layers fetches the layers m.Layers[want] into dir, o.jobs at a time.
func (p *puller) layers(ctx context.Context, m *ocispec.Manifest, want []int, dir string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, p.o.jobs)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for _, i := range want {
		desc := m.Layers[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			if err := p.layer(ctx, desc, dir); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}

// partialName is where the download of desc as file resumes from.
func partialName(file string, desc ocispec.Descriptor) string {
	return "." + file + "." + desc.Digest.Encoded()[:16] + ".partial"
}

// ingest adds a pulled chain to the store's repository repo: the layer
// files from dir that puller.layer did not add already (moved when move,
// else linked), the config, and the manifest
// tagged with the chain name.
func ingest(s *store.Store, repo string, m *ocispec.Manifest, raw []byte, mt string, cfg []byte, tag, dir string, move bool) error {
	for _, l := range m.Layers {
		if s.HasBlob(l.Digest, l.Size) {
			continue
		}
		path := filepath.Join(dir, l.Annotations[store.AnnotationTitle])
		if move {
			// Verified by the download; a rename keeps it whole.
			if err := s.CommitFile(path, l.Digest); err != nil {
				return err
			}
			continue
		}
		if _, _, err := s.AddFile(path, l.Digest); err != nil {
			return err
		}
	}
	if _, err := s.PutBlob(strings.NewReader(string(cfg)), m.Config.Digest); err != nil {
		return err
	}
	if !store.ValidTag(tag) {
		tag = ""
	}
	_, err := s.PutManifest(repo, tag, raw, mt)
	return err
}
