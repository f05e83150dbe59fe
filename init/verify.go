package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
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
		f, err := os.Open(filepath.Join(dir, m.File))
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("layer %s: %w", m.File, err)
		}
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != m.Digest {
			return fmt.Errorf("layer %s: digest %s, but its metadata says %s", m.File, got, m.Digest)
		}
	}
	return nil
}
