package media

import (
	"fmt"

	"github.com/mode-build/mode/registry"
)

// FromStore is the chain tagged chain in the store s as an Image: its
// layers are the store's blobs, its name the chain's.
func FromStore(s *registry.Store, chain string) (*Image, error) {
	ch, _, _, err := s.Chain(chain)
	if err != nil {
		return nil, fmt.Errorf("chain %q of the store %s: %w", chain, s.Dir(), err)
	}
	im := &Image{Chain: chain}
	for _, m := range ch.Layers {
		im.Layers = append(im.Layers, Layer{Path: s.BlobPath(m.Digest), Meta: m})
	}
	return im, nil
}
