package squashfs

import (
	"encoding/binary"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
)

// StripOverlayXattrs removes overlayfs' own xattrs (trusted.overlay.*, but
// trusted.overlay.opaque) from the squashfs image at path, in place, so that
// the image is what mksquashfs would have made of the tree without them. The
// image must have been squashed with -noI (an uncompressed inode table):
// every inode's xattr index is rewritten in place (an inode left with no
// xattr gets none, as unsquashfs and the kernel want), then the image's xattr
// table, which mksquashfs writes last, with uncompressed metadata blocks, and
// the superblock. It reports whether it changed the image; one without such
// xattrs is left untouched (its inode table may then be compressed).
func StripOverlayXattrs(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	s, err := openSqfs(f, fi.Size())
	if err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	if len(s.xattrIDs) == 0 {
		return false, nil
	}
	lists, remap, changed, err := strippedLists(s)
	if err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	if !changed {
		return false, nil
	}
	start := s.xattrStart
	for _, t := range []uint64{s.sb.IDTable, s.sb.InodeTable, s.sb.DirTable, s.sb.FragTable, s.sb.ExportTable} {
		if t != noTable && t >= start {
			return false, fmt.Errorf("%s: the xattr table is not the image's last table: cannot rewrite it", path)
		}
	}
	inodes, err := s.readInodeTable()
	if err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	fields, err := inodes.xattrFields(s.sb.InodeCount, s.sb.BlockSize)
	if err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	for _, o := range fields {
		old := binary.LittleEndian.Uint32(inodes.data[o:])
		if old == noIndex {
			continue
		}
		if int(old) >= len(remap) {
			return false, fmt.Errorf("%s: an inode's xattr index %d is out of %d", path, old, len(remap))
		}
		binary.LittleEndian.PutUint32(inodes.data[o:], remap[old])
	}
	if err := inodes.write(f); err != nil {
		return false, err
	}
	end, flags := start, s.sb.Flags|sqfsNoXattrs
	header := uint64(noTable)
	if len(lists) > 0 {
		table := xattrTable(lists, start)
		if _, err := f.WriteAt(table.data, int64(start)); err != nil {
			return false, err
		}
		end, header, flags = start+uint64(len(table.data)), table.header, s.sb.Flags|sqfsXattrsUncompressed
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], end)
	if _, err := f.WriteAt(b[:], 40); err != nil { // bytes_used
		return false, err
	}
	binary.LittleEndian.PutUint64(b[:], header)
	if _, err := f.WriteAt(b[:], 56); err != nil { // xattr_id_table_start
		return false, err
	}
	var fl [2]byte
	binary.LittleEndian.PutUint16(fl[:], flags)
	if _, err := f.WriteAt(fl[:], 24); err != nil {
		return false, err
	}
	padded := (end + 4095) &^ 4095 // mksquashfs pads images to 4 KiB
	if err := f.Truncate(int64(padded)); err != nil {
		return false, err
	}
	return true, f.Close()
}

// strippedLists reads every xattr list of s without overlayfs' own xattrs
// and returns the distinct non-empty lists left, in order, the new index of
// each old one (noIndex for one left empty), and whether any xattr went.
func strippedLists(s *sqfs) (lists [][]xattrKV, remap []uint32, changed bool, err error) {
	seen := map[string]uint32{}
	remap = make([]uint32, len(s.xattrIDs))
	for i := range s.xattrIDs {
		m, err := s.xattrs(uint32(i))
		if err != nil {
			return nil, nil, false, fmt.Errorf("xattr index %d: %w", i, err)
		}
		var l []xattrKV
		var key []byte // the list's bytes: an unambiguous key
		for _, name := range slices.Sorted(maps.Keys(m)) {
			if strings.HasPrefix(name, "trusted.overlay.") && name != OpaqueXattr {
				changed = true
				continue
			}
			l = append(l, xattrKV{name, m[name]})
			key = appendXattr(key, l[len(l)-1])
		}
		if len(l) == 0 {
			remap[i] = noIndex
			continue
		}
		j, ok := seen[string(key)]
		if !ok {
			j = uint32(len(lists))
			seen[string(key)] = j
			lists = append(lists, l)
		}
		remap[i] = j
	}
	return lists, remap, changed, nil
}

const sqfsXattrsUncompressed = 0x0100

type xattrKV struct{ name, value string }

type xattrTableBytes struct {
	data   []byte // key/value blocks, id blocks, header: written at the old start
	header uint64 // absolute position of the header (xattr_id_table_start)
}

// xattrTable lays out lists (one per xattr index) as a squashfs xattr table
// starting at start: the key/value metadata blocks (identical lists share
// their entries), the id table's blocks, then the header and the id blocks'
// positions. All metadata blocks are stored uncompressed.
func xattrTable(lists [][]xattrKV, start uint64) xattrTableBytes {
	var kv []byte
	refs := map[string]uint64{}
	ids := make([]byte, 0, 16*len(lists))
	for _, l := range lists {
		var entries []byte // the list's bytes: also its unambiguous key
		for _, x := range l {
			entries = appendXattr(entries, x)
		}
		ref, ok := refs[string(entries)]
		if !ok {
			pos := uint64(len(kv))
			ref = (pos/metaBlockSize*(metaBlockSize+2))<<16 | pos%metaBlockSize
			refs[string(entries)] = ref
			kv = append(kv, entries...)
		}
		size := 0
		for _, x := range l {
			size += len(x.name) + 1 + len(x.value)
		}
		ids = binary.LittleEndian.AppendUint64(ids, ref)
		ids = binary.LittleEndian.AppendUint32(ids, uint32(len(l)))
		ids = binary.LittleEndian.AppendUint32(ids, uint32(size))
	}
	data := metaBlocks(nil, kv)
	var idBlocks []uint64
	for off := 0; off < len(ids); off += metaBlockSize {
		idBlocks = append(idBlocks, start+uint64(len(data)))
		data = metaBlocks(data, ids[off:min(off+metaBlockSize, len(ids))])
	}
	header := start + uint64(len(data))
	data = binary.LittleEndian.AppendUint64(data, start)
	data = binary.LittleEndian.AppendUint32(data, uint32(len(lists)))
	data = binary.LittleEndian.AppendUint32(data, 0)
	for _, b := range idBlocks {
		data = binary.LittleEndian.AppendUint64(data, b)
	}
	return xattrTableBytes{data: data, header: header}
}

// appendXattr appends one inline key/value entry: type (prefix index), name
// length, name without prefix, value size, value.
func appendXattr(b []byte, x xattrKV) []byte {
	typ := 0
	for i, p := range xattrPrefixes {
		if strings.HasPrefix(x.name, p) {
			typ = i
			break
		}
	}
	name := strings.TrimPrefix(x.name, xattrPrefixes[typ])
	b = binary.LittleEndian.AppendUint16(b, uint16(typ))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(name)))
	b = append(b, name...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(x.value)))
	return append(b, x.value...)
}

// metaBlocks appends data to b as uncompressed metadata blocks of at most
// metaBlockSize bytes each.
func metaBlocks(b, data []byte) []byte {
	for len(data) > 0 {
		n := min(len(data), metaBlockSize)
		b = binary.LittleEndian.AppendUint16(b, uint16(n)|compressedFlag)
		b = append(b, data[:n]...)
		data = data[n:]
	}
	return b
}
