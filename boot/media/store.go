package media

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/store"
	"github.com/opencontainers/go-digest"
)

// FromStore is the chain name ("REPO:TAG", "REPO@DIGEST", or a tag of one
// repository) of the store s as an Image: its layers are the store's
// blobs.
func FromStore(s *store.Store, name string) (*Image, error) {
	repo, ref, err := s.Find(name)
	if err != nil {
		return nil, fmt.Errorf("chain %q of the store %s: %w", name, s.Dir(), err)
	}
	ch, _, _, err := s.Chain(repo, ref)
	if err != nil {
		return nil, fmt.Errorf("chain %q of the store %s: %w", name, s.Dir(), err)
	}
	im := &Image{Chain: ref}
	for _, m := range ch.Layers {
		im.Layers = append(im.Layers, Layer{Path: s.BlobPath(digest.Digest(m.Digest)), Meta: m})
	}
	return im, nil
}

// FromDir is a chain of a directory of layers (mode build's output:
// FILE.sqfs with FILE.json beside it) as an Image: the chain whose top layer
// is named chain (its file name or its module's name), or the longest.
func FromDir(dir, chain string) (*Image, error) {
	metas, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	byFile := map[string]layers.Meta{}
	var top *layers.Meta
	for _, f := range metas {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var m layers.Meta
		if err := json.Unmarshal(b, &m); err != nil || m.File == "" {
			continue
		}
		byFile[m.File] = m
		hit := chain == "" || m.Name == chain || m.File == chain || m.File == chain+".sqfs"
		if hit && (top == nil || len(m.Chain) > len(top.Chain) || len(m.Chain) == len(top.Chain) && m.File > top.File) {
			mm := m
			top = &mm
		}
	}
	if top == nil {
		return nil, fmt.Errorf("%s: no layer metadata (FILE.json) for chain %q", dir, chain)
	}
	im := &Image{Chain: top.Name}
	for i, name := range top.Chain {
		if name == "" || strings.ContainsAny(name, `/\`) || name == ".." {
			return nil, fmt.Errorf("%s: chain %s: bad module name %q", dir, top.File, name)
		}
		f := strings.Join(top.Chain[:i+1], "-") + ".sqfs"
		m, ok := byFile[f]
		if !ok {
			return nil, fmt.Errorf("%s: layer %s of chain %s is missing", dir, f, top.File)
		}
		im.Layers = append(im.Layers, Layer{Path: filepath.Join(dir, f), Meta: m})
	}
	return im, nil
}
