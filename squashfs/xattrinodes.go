package squashfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// This file patches the xattr index of every inode of an image whose inode
// table is stored uncompressed (mksquashfs -noI): a field of fixed size in an
// uncompressed block is rewritten in place, so no inode moves and nothing
// that points at inodes (directory entries, the export table, the root
// inode's reference) changes. A compressed inode table would change size
// when patched, and with it every reference into it; the directory table's
// references would then change the directory table's size, and the
// directory inodes' references to it: mksquashfs alone lays that out.

// errInodesCompressed says that the inode table cannot be patched in place.
var errInodesCompressed = errors.New("the inode table is compressed: cannot patch xattr indexes in place (squash with -noI)")

// inodeTable is the image's inode table read as one uncompressed stream.
type inodeTable struct {
	data   []byte
	blocks []int64 // image position of each metadata block's data (after its header)
}

// readInodeTable reads the metadata blocks between the inode table and the
// directory table; each must be stored uncompressed, and every one but the
// last full.
func (s *sqfs) readInodeTable() (*inodeTable, error) {
	start, end := s.sb.InodeTable, s.sb.DirTable
	if end <= start || end > uint64(s.size) {
		return nil, fmt.Errorf("inode table at %d, directory table at %d: out of order", start, end)
	}
	t := &inodeTable{data: make([]byte, 0, end-start)}
	for pos := int64(start); pos < int64(end); {
		var hdr [2]byte
		if _, err := s.r.ReadAt(hdr[:], pos); err != nil {
			return nil, fmt.Errorf("inode block at %d: %w", pos, err)
		}
		h := binary.LittleEndian.Uint16(hdr[:])
		if h&compressedFlag == 0 {
			return nil, errInodesCompressed
		}
		n := int64(h &^ compressedFlag)
		if n == 0 || pos+2+n > int64(end) {
			return nil, fmt.Errorf("inode block at %d: bad size %d", pos, n)
		}
		if len(t.data)%metaBlockSize != 0 {
			return nil, fmt.Errorf("inode block at %d follows a short block", pos)
		}
		t.blocks = append(t.blocks, pos+2)
		t.data = t.data[:len(t.data)+int(n)]
		if _, err := s.r.ReadAt(t.data[len(t.data)-int(n):], pos+2); err != nil {
			return nil, fmt.Errorf("inode block at %d: %w", pos, err)
		}
		pos += 2 + n
	}
	return t, nil
}

// write writes the (patched) stream back into the blocks it was read from.
func (t *inodeTable) write(w io.WriterAt) error {
	for i, pos := range t.blocks {
		b := t.data[i*metaBlockSize : min((i+1)*metaBlockSize, len(t.data))]
		if _, err := w.WriteAt(b, pos); err != nil {
			return err
		}
	}
	return nil
}

// xattrFields returns the offsets in the stream of the xattr index of every
// extended inode, walking the inodeCount inodes in order; the walk must end
// exactly at the stream's end.
func (t *inodeTable) xattrFields(inodeCount uint32, blockSize uint32) ([]int, error) {
	d := t.data
	u16 := func(o int) int { return int(binary.LittleEndian.Uint16(d[o:])) }
	u32 := func(o int) uint32 { return binary.LittleEndian.Uint32(d[o:]) }
	u64 := func(o int) uint64 { return binary.LittleEndian.Uint64(d[o:]) }
	// blocks counts a file's data blocks: a tail in a fragment has none.
	blocks := func(size uint64, fragment uint32) int {
		n := size / uint64(blockSize)
		if fragment == noIndex && size%uint64(blockSize) != 0 {
			n++
		}
		return int(min(n, uint64(len(d)))) // bounded: checked against the stream below
	}
	var fields []int
	pos := 0
	for i := range inodeCount {
		need := func(n int) error {
			if n < 0 || pos+n > len(d) {
				return fmt.Errorf("inode %d of %d at offset %d runs past the inode table (%d bytes)", i+1, inodeCount, pos, len(d))
			}
			return nil
		}
		if err := need(16); err != nil {
			return nil, err
		}
		typ := u16(pos)
		body := pos + 16
		var size, xattr int // the inode's bytes; its xattr field's offset in them (0: none)
		switch typ {
		case 1: // directory
			size = 32
		case 2: // file
			if err := need(32); err != nil {
				return nil, err
			}
			size = 32 + 4*blocks(uint64(u32(body+12)), u32(body+4))
		case 3, 10: // symlink, extended symlink
			if err := need(24); err != nil {
				return nil, err
			}
			size = 24 + int(u32(body+4))
			if typ == 10 {
				xattr = size
				size += 4
			}
		case 4, 5: // block, char device
			size = 24
		case 6, 7: // fifo, socket
			size = 20
		case 8: // extended directory
			if err := need(40); err != nil {
				return nil, err
			}
			size, xattr = 40, 36
			for range u16(body + 16) { // its index entries
				if err := need(size + 12); err != nil {
					return nil, err
				}
				size += 12 + int(u32(pos+size+8)) + 1
			}
		case 9: // extended file
			if err := need(56); err != nil {
				return nil, err
			}
			size, xattr = 56+4*blocks(u64(body+8), u32(body+28)), 52
		case 11, 12: // extended devices
			size, xattr = 28, 24
		case 13, 14: // extended fifo, socket
			size, xattr = 24, 20
		default:
			return nil, fmt.Errorf("inode %d of %d at offset %d: unknown type %d", i+1, inodeCount, pos, typ)
		}
		if err := need(size); err != nil {
			return nil, err
		}
		if xattr != 0 {
			fields = append(fields, pos+xattr)
		}
		pos += size
	}
	if pos != len(d) {
		return nil, fmt.Errorf("the inode table holds %d bytes after its %d inodes", len(d)-pos, inodeCount)
	}
	return fields, nil
}
