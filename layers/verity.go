package layers

// Verity is what opening a layer file through dm-verity needs: the file
// holds DataBlocks blocks of squashfs data, then the hash tree at
// HashOffset (package trust/verity computes it; docs/trust.md).
type Verity struct {
	Algorithm  string `json:"algorithm"`  // sha256
	BlockSize  int    `json:"blockSize"`  // data and hash block size: 4096
	DataBlocks uint64 `json:"dataBlocks"` // blocks of data checked
	HashOffset int64  `json:"hashOffset"` // byte offset of the hash tree in the file
	Salt       string `json:"salt"`       // hex
	RootHash   string `json:"rootHash"`   // hex
}
