package media

import (
	"fmt"
	"github.com/opencontainers/go-digest"

	"github.com/mode-build/mode/store"
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
