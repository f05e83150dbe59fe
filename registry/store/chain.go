package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// AddChain stores the layer files ls (base first, ending with the module
// name) as blobs (hard links where it can: AddFile), writes the chain config and manifest, and tags the manifest
// name in repo. Each layer's Meta.Digest and Size are computed from its file
// (a Meta that names a different digest is an error); an empty Meta.File
// takes the file's base name. When repo holds the parent chain (tagged with
// the second-to-last layer's name, with the same layers) its manifest digest
// becomes the chain's Parent. It returns the manifest digest.
func (s *Store) AddChain(ctx context.Context, repo, name string, ls []Layer) (digest.Digest, error) {
	return s.AddChainAs(ctx, repo, name, name, ls)
}

// AddChainAs is AddChain tagging the chain name with tag, another name
// than its own (mode recompress: console's chain as console-xz).
func (s *Store) AddChainAs(ctx context.Context, repo, tag, name string, ls []Layer) (digest.Digest, error) {
	if !ValidTag(tag) {
		return "", fmt.Errorf("tag %q: not usable as a tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})", tag)
	}
	if len(ls) == 0 {
		return "", fmt.Errorf("chain %s: no layers", name)
	}
	if !ValidTag(name) {
		return "", fmt.Errorf("chain %q: not usable as a tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})", name)
	}
	if !ValidRepository(repo) {
		return "", fmt.Errorf("chain %s: repository %q: %w", name, repo, ErrInvalid)
	}
	unlock, err := s.writeLock()
	if err != nil {
		return "", err
	}
	defer unlock()
	c := &Chain{Name: name}
	for _, l := range ls {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		m := l.Meta
		d, _, err := s.addFile(l.Path, digest.Digest(m.Digest)) // a hard link where it can
		if err != nil {
			if errors.Is(err, ErrDigest) {
				return "", fmt.Errorf("chain %s: layer %s: file does not match its metadata: %w", name, l.Path, err)
			}
			return "", fmt.Errorf("chain %s: %w", name, err)
		}
		m.Digest = string(d)
		fi, err := s.statBlob(d)
		if err != nil {
			return "", err
		}
		m.Size = fi
		if m.File == "" {
			m.File = filepath.Base(l.Path)
		}
		if m.Name == "" {
			return "", fmt.Errorf("chain %s: layer %s: metadata has no module name", name, l.Path)
		}
		if err := CheckFileName(m.File); err != nil {
			return "", fmt.Errorf("chain %s: %w", name, err)
		}
		c.Layers = append(c.Layers, m)
	}
	if len(ls) > 1 {
		c.Parent = s.parentOf(repo, c)
	}
	return s.putChain(repo, c, tag)
}

func (s *Store) statBlob(d digest.Digest) (int64, error) {
	f, err := s.OpenBlob(d)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// putChain writes chain c's config and manifest into repo and tags it tag
// (c.Name when empty). The layer blobs must be in the store. The caller holds
// the shared gc lock.
func (s *Store) putChain(repo string, c *Chain, tag string) (digest.Digest, error) {
	cfg, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return "", err
	}
	if _, err := s.putBlob(strings.NewReader(string(cfg)), ""); err != nil {
		return "", err
	}
	raw, err := ChainManifest(c, cfg, true)
	if err != nil {
		return "", fmt.Errorf("chain %s: %w", c.Name, err)
	}
	if tag == "" {
		tag = c.Name
	}
	return s.putManifestLocked(repo, tag, raw, ManifestMediaType)
}

// parentOf returns the manifest digest of c's parent chain in repo, or "".
func (s *Store) parentOf(repo string, c *Chain) digest.Digest {
	below := c.Layers[:len(c.Layers)-1]
	pc, _, pd, err := s.Chain(repo, below[len(below)-1].Name)
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

// Chain returns the chain of repo tagged (or with manifest digest) ref: its
// config, its manifest and the manifest digest.
func (s *Store) Chain(repo, ref string) (*Chain, *ocispec.Manifest, digest.Digest, error) {
	desc, err := s.Resolve(repo, ref)
	if err != nil {
		return nil, nil, "", err
	}
	raw, err := s.ReadBlob(desc.Digest)
	if err != nil {
		return nil, nil, "", err
	}
	m, err := ParseChainManifest(raw)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%s:%s: %w", repo, ref, err)
	}
	cfg, err := s.ReadBlob(m.Config.Digest)
	if err != nil {
		return nil, nil, "", err
	}
	c, err := ParseChainConfig(cfg, m)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%s:%s: %w", repo, ref, err)
	}
	return c, m, desc.Digest, nil
}

// Find resolves what a person names a chain of the store by: "REPO:TAG",
// "REPO@DIGEST", or a bare tag or digest, which must then be in exactly one
// repository. It returns the repository and the tag or digest.
func (s *Store) Find(name string) (repo, ref string, err error) {
	if r, d, ok := strings.Cut(name, "@"); ok {
		return r, d, s.check(r, d)
	}
	if i := strings.LastIndex(name, ":"); i > 0 && CheckDigest(digest.Digest(name)) != nil {
		return name[:i], name[i+1:], s.check(name[:i], name[i+1:])
	}
	repos, err := s.Repositories()
	if err != nil {
		return "", "", err
	}
	var found []string
	for _, r := range repos {
		if _, err := s.Resolve(r, name); err == nil {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 0:
		return "", "", fmt.Errorf("chain %s: %w in any repository of the store", name, ErrNotFound)
	case 1:
		return found[0], name, nil
	}
	return "", "", fmt.Errorf("chain %s is in the repositories %s: say which (REPO:%s)", name, strings.Join(found, ", "), name)
}

func (s *Store) check(repo, ref string) error {
	_, err := s.Resolve(repo, ref)
	return err
}
