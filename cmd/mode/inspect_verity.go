package main

import (
	"fmt"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/verity"
)

// verityLine describes a layer's dm-verity data for mode inspect.
func verityLine(p *verity.Params) string {
	if p == nil {
		return "none (a layer built before dm-verity: boots only with mode.verify=warn or off)"
	}
	return fmt.Sprintf("root hash %s, %s, %d data blocks, hash tree at byte %d (%s)",
		p.RootHash, p.Algorithm, p.DataBlocks, p.HashOffset, layers.Size(verity.TreeSize(p.DataBlocks)))
}
