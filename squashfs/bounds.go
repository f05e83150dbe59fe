package squashfs

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Inode types whose reading allocates by a count from the image.
const (
	inodeSym  = 3
	inodeEDir = 8
	inodeEFil = 9
	inodeESym = 10
)

// maxSymlink is the longest symbolic link target Linux stores (PATH_MAX).
const maxSymlink = 4096

// maxName is the longest name squashfs stores (a directory index's too).
const maxName = 256

// checkInode reads the inode at pos (offset off into its block) ahead of
// the inode reader and refuses counts that would size an allocation past
// what the image can hold: a symlink target longer than PATH_MAX, a file
// block list or directory index larger than the inode table decompressed.
func (s *sqfs) checkInode(pos int64, off uint16) error {
	m, err := s.meta(pos, off)
	if err != nil {
		return err
	}
	var hdr [16]byte
	if _, err := io.ReadFull(m, hdr[:]); err != nil {
		return err
	}
	table := maxMeta(s.sb.InodeTable, s.sb.DirTable)
	switch typ := binary.LittleEndian.Uint16(hdr[:]); typ {
	case inodeSym, inodeESym:
		var b [8]byte
		if _, err := io.ReadFull(m, b[:]); err != nil {
			return err
		}
		if n := binary.LittleEndian.Uint32(b[4:]); n > maxSymlink {
			return fmt.Errorf("symlink target of %d bytes", n)
		}
	case inodeEFil:
		var b [40]byte
		if _, err := io.ReadFull(m, b[:]); err != nil {
			return err
		}
		size := binary.LittleEndian.Uint64(b[8:])
		if blocks := size / uint64(s.sb.BlockSize); blocks+1 > table/4 {
			return fmt.Errorf("file of %d bytes: its block list cannot fit in the inode table", size)
		}
	case inodeEDir:
		var b [24]byte
		if _, err := io.ReadFull(m, b[:]); err != nil {
			return err
		}
		count := uint64(binary.LittleEndian.Uint16(b[16:]))
		if count*13 > table {
			return fmt.Errorf("directory index of %d entries cannot fit in the inode table", count)
		}
		for range count {
			var ix [12]byte
			if _, err := io.ReadFull(m, ix[:]); err != nil {
				return err
			}
			n := binary.LittleEndian.Uint32(ix[8:])
			if n >= maxName {
				return fmt.Errorf("directory index name of %d bytes", n+1)
			}
			if _, err := io.CopyN(io.Discard, m, int64(n)+1); err != nil {
				return err
			}
		}
	}
	return nil
}
