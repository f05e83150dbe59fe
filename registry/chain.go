package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
)

// AddChain stores the layer files ls (base first, ending with the module
// name) as blobs, writes the chain config and manifest, and tags the manifest
// name. Each layer's Meta.Digest and Size are computed from its file (a Meta
// that names a different digest is an error); an empty Meta.File takes the
// file's base name. When the store holds the parent chain (tagged with the
// second-to-last layer's name, with the same layers) its manifest digest
// becomes the chain's Parent. It returns the manifest digest.
func (s *Store) AddChain(ctx context.Context, name string, ls []Layer) (string, error) {
	if len(ls) == 0 {
		return "", fmt.Errorf("chain %s: no layers", name)
	}
	if !validTag(name) {
		return "", fmt.Errorf("chain %q: not usable as a tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})", name)
	}
	unlock, err := s.lock("gc.lock", syscall.LOCK_SH)
	if err != nil {
		return "", err
	}
	c := &Chain{Name: name}
	for _, l := range ls {
		if err := ctx.Err(); err != nil {
			unlock()
			return "", err
		}
		m := l.Meta
		d, err := s.putBlobFile(l.Path, m.Digest)
		if err != nil {
			unlock()
			if errors.Is(err, ErrDigest) {
				return "", fmt.Errorf("chain %s: layer %s: file does not match its metadata: %w", name, l.Path, err)
			}
			return "", fmt.Errorf("chain %s: %w", name, err)
		}
		m.Digest = d
		if m.Size, err = blobSize(s.BlobPath(d)); err != nil {
			unlock()
			return "", err
		}
		if m.File == "" {
			m.File = filepath.Base(l.Path)
		}
		if m.Name == "" {
			unlock()
			return "", fmt.Errorf("chain %s: layer %s: metadata has no module name", name, l.Path)
		}
		if err := checkFileName(m.File); err != nil {
			unlock()
			return "", fmt.Errorf("chain %s: %w", name, err)
		}
		c.Layers = append(c.Layers, m)
	}
	if len(ls) > 1 {
		c.Parent = s.parentOf(c)
	}
	d, err := s.putChain(c, "")
	unlock()
	return d, err
}

// putChain writes chain c's config and manifest and tags it tag (c.Name when
// empty). The layer blobs must be in the store. The caller holds the shared gc lock.
func (s *Store) putChain(c *Chain, tag string) (string, error) {
	cfg, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return "", err
	}
	if _, err := s.putBlob(bytesReader(cfg), ""); err != nil {
		return "", err
	}
	raw, err := chainManifest(c, cfg, true)
	if err != nil {
		return "", fmt.Errorf("chain %s: %w", c.Name, err)
	}
	if tag == "" {
		tag = c.Name
	}
	return s.putManifestLocked(raw, ManifestMediaType, tag)
}

// parentOf returns the manifest digest of c's parent chain in the store, or "".
func (s *Store) parentOf(c *Chain) string {
	below := c.Layers[:len(c.Layers)-1]
	pc, _, pd, err := s.Chain(below[len(below)-1].Name)
	if err != nil || len(pc.Layers) != len(below) {
		return ""
	}
	for i := range below {
		if pc.Layers[i].Digest != below[i].Digest {
			return ""
		}
	}
	return pd
}
