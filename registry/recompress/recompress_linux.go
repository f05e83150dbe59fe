package recompress

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/verity"
	"github.com/opencontainers/go-digest"
)

// Result is what Chain did: the new chain's manifest digest and, per
// layer, its digest before and after (equal for a layer that had the
// compression already).
type Result struct {
	Manifest digest.Digest
	Layers   []Layer
}

// Layer is one layer of a Result.
type Layer struct {
	File   string `json:"file"`
	From   string `json:"from"`   // digest before
	To     string `json:"to"`     // digest after
	Before int64  `json:"before"` // bytes before
	Size   int64  `json:"size"`   // bytes after
}

// Chain recompresses the chain ref of repo in store s with compression
// (NAME[:LEVEL]) and stores it in repo tagged tag (the chain keeps its
// name). A layer that has the compression already is kept as it is. Each
// new layer gets a verity tree of its own; metadata keeps its build key
// and packages, takes the new digest, size, compression and verity
// parameters, and a saved layer's ParentDigests follow the layers below to
// their new digests. Needs root (layers are loop-mounted).
func Chain(ctx context.Context, s *store.Store, repo, ref, tag, compression string) (*Result, error) {
	comp, err := layers.CanonicalCompression(compression)
	if err != nil {
		return nil, fmt.Errorf("recompress: %w", err)
	}
	c, _, _, err := s.Chain(repo, ref)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.TempDir(), 0o755); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp(s.TempDir(), "recompress-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	res := &Result{}
	renamed := map[string]string{} // old digest → new
	var ls []store.Layer
	for _, m := range c.Layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		old := digest.Digest(m.Digest)
		if err := store.CheckDigest(old); err != nil {
			return nil, fmt.Errorf("chain %s: layer %s: %w", c.Name, m.File, err)
		}
		if err := store.CheckFileName(m.File); err != nil { // it names a file in work
			return nil, fmt.Errorf("chain %s: %w", c.Name, err)
		}
		l := store.Layer{Path: s.BlobPath(old), Meta: m}
		if canon, err := layers.CanonicalCompression(m.Compression); err != nil || canon != comp {
			if l, err = layer(ctx, work, l, comp); err != nil {
				return nil, fmt.Errorf("chain %s: layer %s: %w", c.Name, m.File, err)
			}
		}
		renamed[m.Digest] = l.Meta.Digest
		for i, p := range l.Meta.ParentDigests {
			if n, ok := renamed[p]; ok {
				l.Meta.ParentDigests[i] = n
			}
		}
		ls = append(ls, l)
		res.Layers = append(res.Layers, Layer{File: m.File, From: m.Digest, To: l.Meta.Digest, Before: m.Size, Size: l.Meta.Size})
	}
	if res.Manifest, err = s.AddChainAs(ctx, repo, tag, c.Name, ls); err != nil {
		return nil, err
	}
	return res, nil
}

// layer squashes l again with comp into dir and appends its verity tree.
func layer(ctx context.Context, dir string, l store.Layer, comp string) (store.Layer, error) {
	dst := filepath.Join(dir, l.Meta.File)
	if err := squashAgain(ctx, l.Path, dst, comp); err != nil {
		return l, err
	}
	vp, d, n, err := verity.AppendDigest(dst)
	if err != nil {
		return l, err
	}
	if err := os.Chmod(dst, 0o444); err != nil { // the blob it becomes (a hard link) is read-only
		return l, err
	}
	m := l.Meta
	m.ParentDigests = append([]string(nil), m.ParentDigests...)
	m.Digest, m.Size, m.Compression, m.Verity = d, n, comp, vp
	return store.Layer{Path: dst, Meta: m}, nil
}
