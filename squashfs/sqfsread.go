package squashfs

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/mikelolasagasti/xz"
	"github.com/pierrec/lz4/v4"
)

// This file reads squashfs metadata (superblock, metadata blocks, the id and
// xattr tables) for Inspect. CalebQ42/squashfs parses inodes and directory
// entries (its low/inode and low/directory packages), but its Reader cannot
// open lz4 images (squashfs-tools writes raw lz4 blocks, it expects lz4 frames)
// and never reads the xattr table, so the blocks are read and decompressed here.

// ErrNotSquashfs is returned (wrapped, naming the file) for input that is not a
// squashfs 4.0 image.
var ErrNotSquashfs = errors.New("not a squashfs image")

const (
	sqfsMagic      = 0x73717368
	sqfsNoXattrs   = 0x0200
	metaBlockSize  = 8192
	noIndex        = 0xFFFFFFFF
	noTable        = 0xFFFFFFFFFFFFFFFF
	maxXattrValue  = 1 << 20
	compressedFlag = 0x8000
)

// superblock is squashfs 4.0's 96-byte superblock.
type superblock struct {
	Magic, InodeCount, ModTime, BlockSize, FragCount uint32
	Compression, BlockLog, Flags, IDCount            uint16
	VerMajor, VerMinor                               uint16
	RootInode, BytesUsed, IDTable, XattrTable        uint64
	InodeTable, DirTable, FragTable, ExportTable     uint64
}

var compressionNames = map[uint16]string{1: "gzip", 2: "lzma", 3: "lzo", 4: "xz", 5: "lz4", 6: "zstd"}

// sqfs reads one image's metadata.
type sqfs struct {
	r          io.ReaderAt
	size       int64 // bytes of the image: every count read from it is bounded by them
	sb         superblock
	decompress func([]byte) ([]byte, error)
	ids        []uint32
	blocks     map[int64]metaBlock
	xattrStart uint64      // start of the xattr key/value metadata blocks
	xattrIDs   [][2]uint64 // per xattr index: reference, count
}

type metaBlock struct {
	data []byte
	next int64 // position of the following block
}

// openSqfs reads the superblock and tables of the image r of size bytes.
func openSqfs(r io.ReaderAt, size int64) (*sqfs, error) {
	s := &sqfs{r: r, size: size, blocks: map[int64]metaBlock{}}
	if err := binary.Read(io.NewSectionReader(r, 0, 96), binary.LittleEndian, &s.sb); err != nil {
		return nil, fmt.Errorf("%w: too short for a superblock", ErrNotSquashfs)
	}
	if s.sb.Magic != sqfsMagic {
		return nil, fmt.Errorf("%w: bad magic %#x", ErrNotSquashfs, s.sb.Magic)
	}
	if s.sb.VerMajor != 4 || s.sb.BlockSize == 0 || 1<<s.sb.BlockLog != s.sb.BlockSize {
		return nil, fmt.Errorf("%w: version %d.%d, block size %d", ErrNotSquashfs, s.sb.VerMajor, s.sb.VerMinor, s.sb.BlockSize)
	}
	if s.sb.BytesUsed > uint64(size) {
		return nil, fmt.Errorf("truncated: %d bytes, its superblock says %d", size, s.sb.BytesUsed)
	}
	var err error
	if s.decompress, err = decompressor(s.sb.Compression); err != nil {
		return nil, err
	}
	if err := s.readIDs(); err != nil {
		return nil, fmt.Errorf("id table: %w", err)
	}
	if err := s.readXattrIDs(); err != nil {
		return nil, fmt.Errorf("xattr table: %w", err)
	}
	return s, nil
}

// Compression names the image's compressor: gzip, lzma, lzo, xz, lz4 or zstd.
func (s *sqfs) compression() string { return compressionNames[s.sb.Compression] }

func decompressor(c uint16) (func([]byte) ([]byte, error), error) {
	switch c {
	case 1:
		return func(b []byte) ([]byte, error) {
			zr, err := zlib.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, err
			}
			return readBlock(zr)
		}, nil
	case 4:
		return func(b []byte) ([]byte, error) {
			xr, err := xz.NewReader(bytes.NewReader(b), 0)
			if err != nil {
				return nil, err
			}
			return readBlock(xr)
		}, nil
	case 5:
		return func(b []byte) ([]byte, error) {
			out := make([]byte, metaBlockSize)
			n, err := lz4.UncompressBlock(b, out)
			return out[:n], err
		}, nil
	case 6:
		dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(metaBlockSize))
		if err != nil {
			return nil, err
		}
		return func(b []byte) ([]byte, error) { return dec.DecodeAll(b, nil) }, nil
	}
	if name, ok := compressionNames[c]; ok {
		return nil, fmt.Errorf("squashfs compression %s is not supported (use gzip, xz, lz4 or zstd)", name)
	}
	return nil, fmt.Errorf("%w: unknown compression %d", ErrNotSquashfs, c)
}

// readBlock reads a decompressed metadata block: at most metaBlockSize bytes.
func readBlock(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, metaBlockSize+1))
	if err == nil && len(b) > metaBlockSize {
		err = fmt.Errorf("a metadata block inflates past %d bytes", metaBlockSize)
	}
	return b, err
}

// maxMeta bounds the metadata between the image offsets from and to once
// decompressed: every metadata block takes at least 3 bytes of the image
// and holds at most metaBlockSize. Counts read from the image that size an
// allocation are checked against it.
func maxMeta(from, to uint64) uint64 {
	if to <= from {
		return 0
	}
	return (to - from) / 3 * metaBlockSize
}

// block reads and decompresses the metadata block at pos.
func (s *sqfs) block(pos int64) (metaBlock, error) {
	if b, ok := s.blocks[pos]; ok {
		return b, nil
	}
	var hdr [2]byte
	if pos < 0 || pos >= s.size {
		return metaBlock{}, fmt.Errorf("metadata block at %d: outside the image (%d bytes)", pos, s.size)
	}
	if _, err := s.r.ReadAt(hdr[:], pos); err != nil {
		return metaBlock{}, fmt.Errorf("metadata block at %d: %w", pos, err)
	}
	h := binary.LittleEndian.Uint16(hdr[:])
	size := int64(h &^ compressedFlag)
	if size == 0 || size > metaBlockSize {
		return metaBlock{}, fmt.Errorf("metadata block at %d: bad size %d", pos, size)
	}
	raw := make([]byte, size)
	if _, err := s.r.ReadAt(raw, pos+2); err != nil {
		return metaBlock{}, fmt.Errorf("metadata block at %d: %w", pos, err)
	}
	data := raw
	if h&compressedFlag == 0 {
		var err error
		if data, err = s.decompress(raw); err != nil {
			return metaBlock{}, fmt.Errorf("metadata block at %d: %s: %w", pos, s.compression(), err)
		}
	}
	b := metaBlock{data: data, next: pos + 2 + size}
	s.blocks[pos] = b
	return b, nil
}

// meta returns a reader of the metadata stream starting offset bytes into the
// block at pos. Its Read always fills the buffer unless it fails.
func (s *sqfs) meta(pos int64, offset uint16) (*metaReader, error) {
	m := &metaReader{s: s, next: pos}
	if err := m.advance(); err != nil {
		return nil, err
	}
	if int(offset) > len(m.buf) {
		return nil, fmt.Errorf("metadata offset %d past block at %d", offset, pos)
	}
	m.buf = m.buf[offset:]
	return m, nil
}

type metaReader struct {
	s    *sqfs
	next int64
	buf  []byte
}

func (m *metaReader) advance() error {
	b, err := m.s.block(m.next)
	if err != nil {
		return err
	}
	m.buf, m.next = b.data, b.next
	return nil
}

func (m *metaReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(m.buf) == 0 {
			if err := m.advance(); err != nil {
				return n, err
			}
		}
		c := copy(p[n:], m.buf)
		m.buf = m.buf[c:]
		n += c
	}
	return n, nil
}

// readIDs reads the uid/gid table; its blocks follow each other.
func (s *sqfs) readIDs() error {
	n := int(s.sb.IDCount)
	if n == 0 {
		return nil
	}
	var first [8]byte
	if _, err := s.r.ReadAt(first[:], int64(s.sb.IDTable)); err != nil {
		return err
	}
	m, err := s.meta(int64(binary.LittleEndian.Uint64(first[:])), 0)
	if err != nil {
		return err
	}
	s.ids = make([]uint32, n)
	return binary.Read(m, binary.LittleEndian, s.ids)
}

func (s *sqfs) id(i uint16) (uint32, error) {
	if int(i) >= len(s.ids) {
		return 0, fmt.Errorf("id index %d out of %d", i, len(s.ids))
	}
	return s.ids[i], nil
}

// readXattrIDs reads the xattr id table: one (reference, count) per index.
func (s *sqfs) readXattrIDs() error {
	if s.sb.Flags&sqfsNoXattrs != 0 || s.sb.XattrTable == noTable {
		return nil
	}
	var hdr [24]byte // kv start, count, unused, first block pointer
	if _, err := s.r.ReadAt(hdr[:], int64(s.sb.XattrTable)); err != nil {
		return err
	}
	s.xattrStart = binary.LittleEndian.Uint64(hdr[0:])
	n := binary.LittleEndian.Uint32(hdr[8:])
	if n == 0 {
		return nil
	}
	// The table holds one 8-byte pointer per metadata block of ids after
	// its header: n must fit in what follows the header in the image.
	if blocks := (16*uint64(n) + metaBlockSize - 1) / metaBlockSize; s.sb.XattrTable+24+8*(blocks-1) > uint64(s.size) {
		return fmt.Errorf("%d xattr ids cannot fit in an image of %d bytes", n, s.size)
	}
	m, err := s.meta(int64(binary.LittleEndian.Uint64(hdr[16:])), 0)
	if err != nil {
		return err
	}
	if 16*uint64(n) > maxMeta(s.xattrStart, s.sb.XattrTable) {
		return fmt.Errorf("%d xattr ids cannot fit between offsets %d and %d", n, s.xattrStart, s.sb.XattrTable)
	}
	for range n { // appended as read: nothing is allocated ahead of the data
		var e [16]byte
		if _, err := io.ReadFull(m, e[:]); err != nil {
			return fmt.Errorf("xattr id %d of %d: %w", len(s.xattrIDs), n, err)
		}
		s.xattrIDs = append(s.xattrIDs, [2]uint64{binary.LittleEndian.Uint64(e[:]), uint64(binary.LittleEndian.Uint32(e[8:]))})
	}
	return nil
}

var xattrPrefixes = []string{"user.", "trusted.", "security."}

// xattrs returns the extended attributes at xattr index i (noIndex: none).
func (s *sqfs) xattrs(i uint32) (map[string]string, error) {
	if i == noIndex {
		return nil, nil
	}
	if int(i) >= len(s.xattrIDs) {
		return nil, fmt.Errorf("xattr index %d out of %d", i, len(s.xattrIDs))
	}
	ref, count := s.xattrIDs[i][0], s.xattrIDs[i][1]
	m, err := s.meta(int64(s.xattrStart+ref>>16), uint16(ref))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for range count {
		var key [4]byte
		if _, err := m.Read(key[:]); err != nil {
			return nil, err
		}
		typ, nameLen := binary.LittleEndian.Uint16(key[:]), binary.LittleEndian.Uint16(key[2:])
		if int(typ&0xff) >= len(xattrPrefixes) {
			return nil, fmt.Errorf("xattr type %#x unknown", typ)
		}
		name := make([]byte, nameLen)
		if _, err := m.Read(name); err != nil {
			return nil, err
		}
		value, err := readValue(m)
		if err != nil {
			return nil, err
		}
		if typ&0x100 != 0 { // out of line: value is a reference to the real one
			if len(value) != 8 {
				return nil, fmt.Errorf("xattr %s: bad out-of-line reference", name)
			}
			vref := binary.LittleEndian.Uint64(value)
			vm, err := s.meta(int64(s.xattrStart+vref>>16), uint16(vref))
			if err != nil {
				return nil, err
			}
			if value, err = readValue(vm); err != nil {
				return nil, err
			}
		}
		out[xattrPrefixes[typ&0xff]+string(name)] = string(value)
	}
	return out, nil
}

func readValue(r io.Reader) ([]byte, error) {
	var size uint32
	if err := binary.Read(r, binary.LittleEndian, &size); err != nil {
		return nil, err
	}
	if size > maxXattrValue {
		return nil, fmt.Errorf("xattr value of %d bytes", size)
	}
	v := make([]byte, size)
	_, err := r.Read(v)
	return v, err
}
