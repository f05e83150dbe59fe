package verity

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/mode-build/mode/layers"
)

// BlockSize is the data and hash block size.
const BlockSize = 4096

// Algorithm is the only hash algorithm written.
const Algorithm = "sha256"

// Params are a layer's verity parameters, as its metadata carries them
// (inside the signed chain config).
type Params = layers.Verity

// ErrNoTree is returned by Check for a file whose size does not match Params.
var ErrNoTree = errors.New("no verity hash tree of these parameters")

// Build computes the hash tree of the first dataBlocks blocks of r with salt:
// the tree as veritysetup lays it out (the level nearest the root first, each
// level padded to whole blocks) and the root hash. dataBlocks must be > 1.
func Build(r io.Reader, dataBlocks uint64, salt []byte) (tree, root []byte, err error) {
	if dataBlocks < 2 {
		return nil, nil, fmt.Errorf("verity: %d data blocks, want at least 2", dataBlocks)
	}
	buf := make([]byte, BlockSize)
	var level bytes.Buffer
	for i := uint64(0); i < dataBlocks; i++ {
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, nil, fmt.Errorf("verity: data block %d: %w", i, err)
		}
		level.Write(hashBlock(salt, buf))
	}
	pad(&level)
	levels := [][]byte{level.Bytes()}
	for len(levels[len(levels)-1]) > BlockSize {
		below := levels[len(levels)-1]
		var next bytes.Buffer
		for off := 0; off < len(below); off += BlockSize {
			next.Write(hashBlock(salt, below[off:off+BlockSize]))
		}
		pad(&next)
		levels = append(levels, next.Bytes())
	}
	var t bytes.Buffer
	for i := len(levels) - 1; i >= 0; i-- {
		t.Write(levels[i])
	}
	return t.Bytes(), hashBlock(salt, levels[len(levels)-1]), nil
}

// hashBlock is a block's hash in format 1: SHA-256 of the salt, then the block.
func hashBlock(salt, block []byte) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write(block)
	return h.Sum(nil)
}

// pad fills b with zeros to a whole number of blocks.
func pad(b *bytes.Buffer) {
	if n := b.Len() % BlockSize; n != 0 {
		b.Write(make([]byte, BlockSize-n))
	}
}

// Append pads the file at path with zeros to whole blocks (at least two:
// squashfs ignores what follows its data), then appends the hash tree of
// that data, salted with the data's SHA-256 so that the same layer always
// gets the same tree. It returns the parameters to open the file with. The
// file must not hold a tree already, nor have another hard link.
func Append(path string) (*Params, error) {
	p, _, _, err := AppendDigest(path)
	return p, err
}

// AppendDigest is Append that also returns the whole file's digest
// ("sha256:HEX", as layers.FileDigest gives it) and size, tree included,
// without reading the file again: the salt's hash of the padded data goes
// on over the tree.
func AppendDigest(path string) (*Params, string, int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, "", 0, fmt.Errorf("verity: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, "", 0, fmt.Errorf("verity: %w", err)
	}
	if n := links(fi); n > 1 {
		// A layer linked into a store (store.AddFile) shares its inode with
		// the blob: writing here would change the blob under its digest.
		return nil, "", 0, fmt.Errorf("verity: %s has %d hard links (a store's blob?): appending would change every name of it; append to a file of its own", path, n)
	}
	size := fi.Size()
	blocks := uint64((size + BlockSize - 1) / BlockSize)
	blocks = max(blocks, 2)
	if err := f.Truncate(int64(blocks) * BlockSize); err != nil {
		return nil, "", 0, fmt.Errorf("verity: pad %s: %w", path, err)
	}
	saltSum := sha256.New()
	if _, err := io.Copy(saltSum, io.NewSectionReader(f, 0, int64(blocks)*BlockSize)); err != nil {
		return nil, "", 0, fmt.Errorf("verity: %s: %w", path, err)
	}
	salt := saltSum.Sum(nil)
	tree, root, err := Build(io.NewSectionReader(f, 0, int64(blocks)*BlockSize), blocks, salt)
	if err != nil {
		return nil, "", 0, fmt.Errorf("%s: %w", path, err)
	}
	saltSum.Write(tree) // the file's digest: its data as the salt read it, then the tree
	digest := "sha256:" + hex.EncodeToString(saltSum.Sum(nil))
	if _, err := f.WriteAt(tree, int64(blocks)*BlockSize); err != nil {
		return nil, "", 0, fmt.Errorf("verity: %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return nil, "", 0, fmt.Errorf("verity: %s: %w", path, err)
	}
	return &Params{
		Algorithm:  Algorithm,
		BlockSize:  BlockSize,
		DataBlocks: blocks,
		HashOffset: int64(blocks) * BlockSize,
		Salt:       hex.EncodeToString(salt),
		RootHash:   hex.EncodeToString(root),
	}, digest, int64(blocks)*BlockSize + int64(len(tree)), nil
}

// TreeSize is the size in bytes of the hash tree of dataBlocks blocks.
func TreeSize(dataBlocks uint64) int64 {
	var n int64
	for blocks := dataBlocks; ; {
		hb := (blocks*sha256.Size + BlockSize - 1) / BlockSize
		n += int64(hb) * BlockSize
		if hb <= 1 {
			return n
		}
		blocks = hb
	}
}

// Check recomputes the tree of the file at path and compares it and the
// root hash with p: what the kernel would find, without the kernel.
func Check(p *Params, path string) error {
	if err := validate(p); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("verity: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if want := p.HashOffset + TreeSize(p.DataBlocks); fi.Size() != want {
		return fmt.Errorf("verity: %s: %d bytes, want %d: %w", path, fi.Size(), want, ErrNoTree)
	}
	salt, _ := hex.DecodeString(p.Salt)
	tree, root, err := Build(io.NewSectionReader(f, 0, p.HashOffset), p.DataBlocks, salt)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if hex.EncodeToString(root) != p.RootHash {
		return fmt.Errorf("verity: %s: root hash %x, want %s (the data changed)", path, root, p.RootHash)
	}
	stored := make([]byte, len(tree))
	if _, err := f.ReadAt(stored, p.HashOffset); err != nil {
		return fmt.Errorf("verity: %s: hash tree: %w", path, err)
	}
	if !bytes.Equal(stored, tree) {
		return fmt.Errorf("verity: %s: the stored hash tree differs from the data's", path)
	}
	return nil
}

// validate checks p's fields before they reach the kernel.
func validate(p *Params) error {
	switch {
	case p.Algorithm != Algorithm:
		return fmt.Errorf("verity: algorithm %q, want %s", p.Algorithm, Algorithm)
	case p.BlockSize != BlockSize:
		return fmt.Errorf("verity: block size %d, want %d", p.BlockSize, BlockSize)
	case p.DataBlocks < 2 || p.HashOffset != int64(p.DataBlocks)*BlockSize:
		return fmt.Errorf("verity: %d data blocks with the hash tree at %d: inconsistent", p.DataBlocks, p.HashOffset)
	}
	for _, h := range []string{p.Salt, p.RootHash} {
		if b, err := hex.DecodeString(h); err != nil || len(b) != sha256.Size {
			return fmt.Errorf("verity: %q is not a hex SHA-256", h)
		}
	}
	return nil
}

// Table is the device-mapper table line of a verity target over dev (the
// file's block device, holding data and tree): its length in 512-byte
// sectors, then the target's parameters.
func Table(p *Params, dev string) (sectors uint64, params string, err error) {
	if err := validate(p); err != nil {
		return 0, "", err
	}
	hashStart := uint64(p.HashOffset / BlockSize)
	return p.DataBlocks * BlockSize / 512, "1 " + dev + " " + dev + " " +
		strconv.Itoa(BlockSize) + " " + strconv.Itoa(BlockSize) + " " +
		strconv.FormatUint(p.DataBlocks, 10) + " " + strconv.FormatUint(hashStart, 10) + " " +
		p.Algorithm + " " + p.RootHash + " " + p.Salt, nil
}
