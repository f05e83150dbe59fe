package store

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/opencontainers/go-digest"
)

// Stored is a chain of the store as a source to push: its manifest and its blobs.
type Stored struct {
	s      *Store
	raw    []byte
	digest digest.Digest
}

// Source returns the chain of repo tagged (or with digest) ref as a source to push.
func (s *Store) Source(repo, ref string) (*Stored, error) {
	_, _, d, err := s.Chain(repo, ref)
	if err != nil {
		return nil, err
	}
	raw, err := s.ReadBlob(d)
	if err != nil {
		return nil, err
	}
	return &Stored{s: s, raw: raw, digest: d}, nil
}

// Manifest returns the chain's manifest as stored.
func (c *Stored) Manifest() ([]byte, error) { return c.raw, nil }

// Blob opens the chain's config or layer blob d.
func (c *Stored) Blob(d digest.Digest) (io.ReadCloser, error) { return c.s.OpenBlob(d) }

// Files is a chain made of layer files without a store: a booted system
// saving its changes has its layers as files, and the registry it booted from
// has their blobs already.
type Files struct {
	raw   []byte
	cfg   []byte
	paths map[digest.Digest]string
}

// NewFiles makes the chain name of the layer files ls (base first, each Meta
// with its Digest, File and Name; a missing Size is the file's) with parent
// as the parent chain's manifest digest (may be empty). A layer whose blob
// the registry has is never read, so its file may be missing.
func NewFiles(name string, ls []Layer, parent digest.Digest) (*Files, error) {
	if len(ls) == 0 {
		return nil, fmt.Errorf("chain %s: no layers", name)
	}
	c := &Chain{Name: name, Parent: parent}
	f := &Files{paths: map[digest.Digest]string{}}
	for _, l := range ls {
		if err := CheckFileName(l.Meta.File); err != nil {
			return nil, fmt.Errorf("chain %s: %w", name, err)
		}
		if l.Meta.Size <= 0 {
			// Older metadata may lack the size: the file has it.
			fi, err := os.Stat(l.Path)
			if err != nil {
				return nil, fmt.Errorf("chain %s: layer %s: no size in its metadata and %w", name, l.Meta.File, err)
			}
			l.Meta.Size = fi.Size()
		}
		c.Layers = append(c.Layers, l.Meta)
		f.paths[digest.Digest(l.Meta.Digest)] = l.Path
	}
	var err error
	if f.cfg, err = json.MarshalIndent(c, "", "  "); err != nil {
		return nil, err
	}
	if f.raw, err = ChainManifest(c, f.cfg, true); err != nil {
		return nil, fmt.Errorf("chain %s: %w", name, err)
	}
	return f, nil
}

// Manifest returns the chain's manifest.
func (f *Files) Manifest() ([]byte, error) { return f.raw, nil }

// Blob opens the chain's config or the layer file of digest d.
func (f *Files) Blob(d digest.Digest) (io.ReadCloser, error) {
	if d == digest.FromBytes(f.cfg) {
		return io.NopCloser(strings.NewReader(string(f.cfg))), nil
	}
	p, ok := f.paths[d]
	if !ok {
		return nil, fmt.Errorf("blob %s: %w in the chain's files", d, ErrNotFound)
	}
	return os.Open(p)
}
