package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrNotChain is returned for a manifest that is not a mode chain.
var ErrNotChain = errors.New("not a mode chain")

// ChainManifest returns the manifest of chain c with config blob cfg, with
// the artifactType or without it (for registries that refuse it). Every
// c.Layers entry must have its Digest, Size and File set.
func ChainManifest(c *Chain, cfg []byte, artifactType bool) ([]byte, error) {
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ManifestMediaType,
		Config: ocispec.Descriptor{
			MediaType: ConfigMediaType,
			Digest:    digest.FromBytes(cfg),
			Size:      int64(len(cfg)),
		},
		Annotations: map[string]string{AnnotationChain: c.Name},
	}
	if artifactType {
		m.ArtifactType = ArtifactType
	}
	if c.Parent != "" {
		m.Annotations[AnnotationParent] = string(c.Parent)
	}
	for _, l := range c.Layers {
		if err := CheckDigest(digest.Digest(l.Digest)); err != nil {
			return nil, fmt.Errorf("layer %s: %w", l.Name, err)
		}
		a := map[string]string{AnnotationTitle: l.File, AnnotationModule: l.Name}
		if l.Compression != "" {
			a[AnnotationCompression] = l.Compression
		}
		if l.Verity != nil {
			a[AnnotationVerityRootHash] = l.Verity.RootHash
			a[AnnotationVerityOffset] = strconv.FormatInt(l.Verity.HashOffset, 10)
		}
		m.Layers = append(m.Layers, ocispec.Descriptor{
			MediaType: LayerMediaType, Digest: digest.Digest(l.Digest), Size: l.Size, Annotations: a,
		})
	}
	return json.MarshalIndent(m, "", "  ")
}

// ParseChainManifest decodes raw and checks that it is a mode chain manifest.
func ParseChainManifest(raw []byte) (*ocispec.Manifest, error) {
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: manifest is not JSON: %v", ErrNotChain, err)
	}
	switch {
	case m.MediaType != "" && m.MediaType != ManifestMediaType:
		return nil, fmt.Errorf("%w: manifest media type is %s", ErrNotChain, m.MediaType)
	case m.Config.MediaType != ConfigMediaType:
		return nil, fmt.Errorf("%w: config media type is %q, want %s", ErrNotChain, m.Config.MediaType, ConfigMediaType)
	}
	titles := map[string]bool{}
	for i, l := range m.Layers {
		t := l.Annotations[AnnotationTitle]
		if titles[t] {
			return nil, fmt.Errorf("%w: two layers named %s", ErrNotChain, t)
		}
		titles[t] = true
		if l.MediaType != LayerMediaType {
			return nil, fmt.Errorf("%w: layer %d has media type %s", ErrNotChain, i, l.MediaType)
		}
		if err := CheckDigest(l.Digest); err != nil {
			return nil, fmt.Errorf("%w: layer %d: %v", ErrNotChain, i, err)
		}
		if err := CheckFileName(t); err != nil {
			return nil, fmt.Errorf("%w: layer %d: %v", ErrNotChain, i, err)
		}
	}
	if err := CheckDigest(m.Config.Digest); err != nil {
		return nil, fmt.Errorf("%w: config: %v", ErrNotChain, err)
	}
	return &m, nil
}

// CheckFileName refuses a layer file name that could escape its directory.
func CheckFileName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") || strings.HasPrefix(name, ".") {
		return fmt.Errorf("layer file name %q is not a plain file name", name)
	}
	return nil
}

// ParseChainConfig decodes a chain config and checks it against manifest m.
func ParseChainConfig(raw []byte, m *ocispec.Manifest) (*Chain, error) {
	var c Chain
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%w: chain config: %v", ErrNotChain, err)
	}
	if len(c.Layers) != len(m.Layers) {
		return nil, fmt.Errorf("%w: chain config lists %d layers, manifest %d", ErrNotChain, len(c.Layers), len(m.Layers))
	}
	for i, l := range m.Layers {
		if c.Layers[i].Digest != string(l.Digest) {
			return nil, fmt.Errorf("%w: layer %d: config digest %s, manifest %s", ErrNotChain, i, c.Layers[i].Digest, l.Digest)
		}
	}
	return &c, nil
}
