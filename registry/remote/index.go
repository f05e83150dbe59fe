package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/store"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxIndexEntries bounds the entries Pull reads from an index.
const maxIndexEntries = 64

// WithPlatform picks arch's chain (amd64, arm64) when a reference names an
// image index of chains; the machine's own architecture by default.
func WithPlatform(arch string) Option { return func(o *options) { o.platform = arch } }

// platform is the architecture o picks from an index.
func (o *options) arch() string {
	if o.platform != "" {
		return o.platform
	}
	return runtime.GOARCH
}

// PushIndex pushes each chain of srcs (one per architecture) by its digest
// to ref's repository, then an OCI image index at ref whose entries are
// their manifests, each with its platform (linux and the architecture of
// the chain's layers) and the chain's name: one tag for every architecture.
// The chains must be of the same module and of distinct architectures. It
// returns the index digest and the entries' manifest digests, in srcs' order.
func PushIndex(ctx context.Context, srcs []Source, ref string, opts ...Option) (digest.Digest, []digest.Digest, error) {
	o := makeOptions(opts)
	var descs []ocispec.Descriptor
	var chain string
	seen := map[string]bool{}
	for _, src := range srcs {
		raw, err := src.Manifest()
		if err != nil {
			return "", nil, fmt.Errorf("push to %s: %w", ref, err)
		}
		m, err := store.ParseChainManifest(raw)
		if err != nil {
			return "", nil, fmt.Errorf("push to %s: %w", ref, err)
		}
		arch, err := sourceArch(src, m)
		if err != nil {
			return "", nil, fmt.Errorf("push to %s: %w", ref, err)
		}
		name := m.Annotations[store.AnnotationChain]
		if chain == "" {
			chain = name
		} else if name != chain {
			return "", nil, fmt.Errorf("push to %s: an index holds one chain for every architecture: %s and %s", ref, chain, name)
		}
		if seen[arch] {
			return "", nil, fmt.Errorf("push %s to %s: two chains for %s", chain, ref, arch)
		}
		seen[arch] = true
		descs = append(descs, ocispec.Descriptor{
			MediaType:   store.ManifestMediaType,
			Digest:      digest.FromBytes(raw),
			Size:        int64(len(raw)),
			Platform:    &ocispec.Platform{OS: "linux", Architecture: arch},
			Annotations: map[string]string{store.AnnotationChain: chain},
		})
	}
	if len(descs) == 0 {
		return "", nil, fmt.Errorf("push to %s: no chains for the index", ref)
	}
	r, err := parseRef(ref, chain, o)
	if err != nil {
		return "", nil, err
	}
	var pushed []digest.Digest
	for i, src := range srcs {
		d, err := Push(ctx, src, r.Context().Digest(string(descs[i].Digest)).String(), opts...)
		if err != nil {
			return "", nil, err
		}
		if d != descs[i].Digest { // the registry took it without artifactType
			return "", nil, fmt.Errorf("push %s to %s: the registry changed the %s manifest (%s, not %s): an index needs it as it is",
				chain, ref, descs[i].Platform.Architecture, d, descs[i].Digest)
		}
		pushed = append(pushed, d)
	}
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: store.IndexMediaType,
		Manifests: descs, Annotations: map[string]string{store.AnnotationChain: chain}}
	raw, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return "", nil, err
	}
	cl, err := o.client(ctx, r.Context(), transport.PushScope)
	if err != nil {
		return "", nil, fmt.Errorf("push %s to %s: %w", chain, ref, err)
	}
	if err := remote.Put(r, rawIndex(raw), remote.WithContext(ctx), remote.WithTransport(cl.Transport)); err != nil {
		return "", nil, fmt.Errorf("push %s to %s: index: %w", chain, ref, err)
	}
	return digest.FromBytes(raw), pushed, nil
}

// sourceArch is the architecture of the chain src: its layers' (all one).
func sourceArch(src Source, m *ocispec.Manifest) (string, error) {
	rc, err := src.Blob(m.Config.Digest)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	var c store.Chain
	if err := json.NewDecoder(rc).Decode(&c); err != nil {
		return "", fmt.Errorf("chain config: %w", err)
	}
	return chainArch(&c)
}

// chainArch is the one architecture of c's layers.
func chainArch(c *store.Chain) (string, error) {
	if len(c.Layers) == 0 {
		return "", fmt.Errorf("chain %s: no layers", c.Name)
	}
	arch := c.Layers[0].Arch()
	for _, l := range c.Layers[1:] {
		if l.Arch() != arch {
			return "", fmt.Errorf("chain %s: layer %s is for %s, %s for %s", c.Name, l.File, l.Arch(), c.Layers[0].File, arch)
		}
	}
	return arch, nil
}

// rawIndex is an image index to remote.Put as it is.
type rawIndex []byte

func (r rawIndex) RawManifest() ([]byte, error)        { return r, nil }
func (r rawIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }

// IndexEntry returns the reference of the chain for arch (amd64, arm64) in
// raw, the image index that r names; or an error naming the architecture and
// those the index has. The init takes its entry so before it checks that
// entry's signatures: each entry is signed as it is pushed.
func IndexEntry(raw []byte, r name.Reference, arch string) (name.Reference, error) {
	return pickPlatform(raw, r, &options{platform: arch})
}

// pickPlatform reads the index raw of ref and returns the reference of its
// entry for o's architecture, or an error naming the architecture and those
// the index has.
func pickPlatform(raw []byte, r name.Reference, o *options) (name.Reference, error) {
	var idx ocispec.Index
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("%w: index %s: %v", store.ErrNotChain, r, err)
	}
	if len(idx.Manifests) > maxIndexEntries {
		return nil, fmt.Errorf("%w: index %s has %d entries, more than %d", store.ErrNotChain, r, len(idx.Manifests), maxIndexEntries)
	}
	want := o.arch()
	var have []string
	for _, e := range idx.Manifests {
		if e.Platform == nil || e.MediaType != store.ManifestMediaType {
			continue
		}
		if e.Platform.Architecture == want && (e.Platform.OS == "linux" || e.Platform.OS == "") {
			if err := store.CheckDigest(e.Digest); err != nil {
				return nil, fmt.Errorf("index %s: %s entry: %w", r, want, err)
			}
			return r.Context().Digest(string(e.Digest)), nil
		}
		have = append(have, e.Platform.Architecture)
	}
	slices.Sort(have)
	return nil, fmt.Errorf("%s is an index of chains for %s: none for %s (--platform chooses another)",
		r, orNone(strings.Join(slices.Compact(have), ", ")), want)
}

func orNone(s string) string {
	if s == "" {
		return "no architecture"
	}
	return s
}

// archTag is the store tag of a pulled chain c: its name, NAME-ARCH for
// another architecture than amd64 (as mode build tags it).
func archTag(c *store.Chain) string {
	arch, err := chainArch(c)
	if err != nil {
		return c.Name
	}
	return layers.ArchTag(c.Name, arch)
}
