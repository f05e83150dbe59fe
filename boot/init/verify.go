package modeinit

import (
	"fmt"
	"path/filepath"

	"github.com/mode-build/mode/layers"
)

// verifyLocal checks each layer found on local media against the digest its
// metadata records, as a pull checks what it downloads: a damaged or swapped
// file never mounts. A layer without metadata (no FILE.json) has nothing to
// be checked against.
func verifyLocal(dir string, metas []layers.Meta) error {
	for _, m := range metas {
		if m.Digest == "" {
			continue
		}
		got, _, err := layers.FileDigest(filepath.Join(dir, m.File))
		if err != nil {
			return fmt.Errorf("layer %s: %w", m.File, err)
		}
		if got != m.Digest {
			return fmt.Errorf("layer %s: digest %s, but its metadata says %s", m.File, got, m.Digest)
		}
	}
	return nil
}
