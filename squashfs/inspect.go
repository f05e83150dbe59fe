package squashfs

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"

	"github.com/CalebQ42/squashfs/low/directory"
	"github.com/CalebQ42/squashfs/low/inode"
)

// EntryType is the kind of an Entry.
type EntryType string

// The kinds of entries a layer holds.
const (
	TypeFile    EntryType = "file"
	TypeDir     EntryType = "dir"
	TypeSymlink EntryType = "symlink"
	TypeChar    EntryType = "char"
	TypeBlock   EntryType = "block"
	TypeFifo    EntryType = "fifo"
	TypeSocket  EntryType = "socket"
)

// OpaqueXattr marks an overlayfs opaque directory when its value is "y".
const OpaqueXattr = "trusted.overlay.opaque"

// Entry is one path of a squashfs image, as Inspect reads it.
type Entry struct {
	Path   string      `json:"path"` // absolute: "/", "/etc/motd"
	Type   EntryType   `json:"type"`
	Mode   fs.FileMode `json:"-"` // type and permission bits, setuid/setgid/sticky included; JSON "mode": "04755"
	UID    uint32      `json:"uid"`
	GID    uint32      `json:"gid"`
	Size   int64       `json:"size"`             // bytes of a regular file
	Target string      `json:"target,omitempty"` // symlink target
	Major  uint32      `json:"major,omitempty"`  // devices
	Minor  uint32      `json:"minor,omitempty"`
	Inode  uint32      `json:"inode"` // entries of one inode are hard links
	Nlink  uint32      `json:"nlink"`
	// Whiteout: an overlayfs whiteout (char device 0:0), the deletion of Path
	// from the layers below.
	Whiteout bool `json:"whiteout,omitempty"`
	// Opaque: a directory with trusted.overlay.opaque=y, which hides the
	// directory of the same path in the layers below.
	Opaque bool              `json:"opaque,omitempty"`
	Xattrs map[string]string `json:"xattrs,omitempty"`
}

// Inspect lists every entry of the squashfs image at path, parents before
// children and siblings by name, without mounting it and without root. An
// input that is not squashfs gives an error wrapping ErrNotSquashfs.
func Inspect(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%s: %w: a directory", path, ErrNotSquashfs)
	}
	out, err := inspect(f, fi.Size())
	if err != nil {
		return out, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// inspect is Inspect of the image r of size bytes.
func inspect(r io.ReaderAt, size int64) ([]Entry, error) {
	s, err := openSqfs(r, size)
	if err != nil {
		return nil, err
	}
	var out []Entry
	seen := map[uint32]bool{} // directory inodes, against loops in a corrupt image
	err = s.walk("/", s.sb.RootInode, seen, &out)
	return out, err
}

// walk appends the entry of the inode at ref, named p, then its children.
func (s *sqfs) walk(p string, ref uint64, seen map[uint32]bool, out *[]Entry) error {
	pos, off := int64(s.sb.InodeTable+ref>>16), uint16(ref)
	if err := s.checkInode(pos, off); err != nil {
		return fmt.Errorf("%s: inode: %w", p, err)
	}
	m, err := s.meta(pos, off)
	if err != nil {
		return fmt.Errorf("%s: inode: %w", p, err)
	}
	in, err := inode.Read(m, s.sb.BlockSize)
	if err != nil {
		return fmt.Errorf("%s: inode: %w", p, err)
	}
	e, err := s.entry(p, in)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	*out = append(*out, e)
	if e.Type != TypeDir {
		return nil
	}
	if seen[in.Num] {
		return fmt.Errorf("%s: directory inode %d seen twice", p, in.Num)
	}
	seen[in.Num] = true
	children, err := s.dir(in)
	if err != nil {
		return fmt.Errorf("%s: directory: %w", p, err)
	}
	for _, c := range children {
		if c.Name == "" || c.Name == "." || c.Name == ".." || path.Base(c.Name) != c.Name {
			return fmt.Errorf("%s: bad name %q", p, c.Name)
		}
		if err := s.walk(path.Join(p, c.Name), uint64(c.BlockStart)<<16|uint64(c.Offset), seen, out); err != nil {
			return err
		}
	}
	return nil
}

// dir reads the entries of a directory inode.
func (s *sqfs) dir(in inode.Inode) ([]directory.Entry, error) {
	var start, size uint32
	var offset uint16
	switch d := in.Data.(type) {
	case inode.Directory:
		start, size, offset = d.BlockStart, uint32(d.Size), d.Offset
	case inode.EDirectory:
		start, size, offset = d.BlockStart, d.Size, d.Offset
	}
	if size <= 3 { // an empty directory
		return nil, nil
	}
	m, err := s.meta(int64(s.sb.DirTable+uint64(start)), offset)
	if err != nil {
		return nil, err
	}
	return directory.ReadDirectory(m, size)
}

// entry turns an inode into an Entry.
func (s *sqfs) entry(p string, in inode.Inode) (Entry, error) {
	e := Entry{Path: p, Inode: in.Num, Nlink: in.LinkCount(), Size: int64(in.Size())}
	var err error
	if e.UID, err = s.id(in.UidInd); err != nil {
		return e, err
	}
	if e.GID, err = s.id(in.GidInd); err != nil {
		return e, err
	}
	xattr := uint32(noIndex)
	switch d := in.Data.(type) {
	case inode.Directory, inode.EDirectory:
		e.Type = TypeDir
		if d, ok := d.(inode.EDirectory); ok {
			xattr = d.XattrInd
		}
	case inode.File:
		e.Type, e.Nlink = TypeFile, 1
	case inode.EFile:
		e.Type, xattr = TypeFile, d.XattrInd
	case inode.Symlink:
		e.Type, e.Target = TypeSymlink, string(d.Target)
	case inode.ESymlink:
		e.Type, e.Target, xattr = TypeSymlink, string(d.Target), d.XattrInd
	case inode.Device:
		e.Major, e.Minor = decodeDev(d.Dev)
	case inode.EDevice:
		e.Major, e.Minor = decodeDev(d.Dev)
		xattr = d.XattrInd
	case inode.EIPC:
		xattr = d.XattrInd
	}
	switch in.Type {
	case inode.Char, inode.EChar:
		e.Type, e.Whiteout = TypeChar, e.Major == 0 && e.Minor == 0
	case inode.Block, inode.EBlock:
		e.Type = TypeBlock
	case inode.Fifo, inode.EFifo:
		e.Type = TypeFifo
	case inode.Sock, inode.ESock:
		e.Type = TypeSocket
	}
	e.Mode = unixMode(in)
	if e.Xattrs, err = s.xattrs(xattr); err != nil {
		return e, err
	}
	e.Opaque = e.Type == TypeDir && e.Xattrs[OpaqueXattr] == "y"
	return e, nil
}

// decodeDev splits a squashfs device number (Linux new_encode_dev).
func decodeDev(d uint32) (major, minor uint32) {
	return (d >> 8) & 0xfff, (d & 0xff) | ((d >> 12) & 0xfff00)
}

// unixMode turns an inode's type and Unix permission bits into an fs.FileMode.
func unixMode(in inode.Inode) fs.FileMode {
	m := in.Mode() &^ 0o7000 // inode.Mode keeps the raw Unix special bits: move them
	perm := uint32(in.Perm)
	if perm&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if perm&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if perm&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	switch in.Type {
	case inode.Char, inode.EChar:
		m |= fs.ModeCharDevice
	}
	return m
}
