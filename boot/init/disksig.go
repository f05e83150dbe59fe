package modeinit

import (
	"bytes"
	"fmt"
	"io"
)

// signature is a mark of data on a disk: these bytes at this offset.
type signature struct {
	off  int64
	b    string
	what string
}

// signatures are the partition tables and file systems the install looks
// for at the start of a disk (the end: the backup GPT, in diskInUse).
var signatures = []signature{
	{512, "EFI PART", "a GPT partition table"},
	{4096, "EFI PART", "a GPT partition table (4096-byte sectors)"},
	{510, "\x55\xaa", "an MBR partition table or boot sector"},
	{1080, "\x53\xef", "an ext2/ext3/ext4 file system"},
	{0, "XFSB", "an XFS file system"},
	{65600, "_BHRfS_M", "a btrfs file system"},
	{3, "NTFS    ", "an NTFS file system"},
	{32769, "CD001", "an ISO 9660 file system"},
	{512, "LABELONE", "an LVM physical volume"},
	{0, "LUKS\xba\xbe", "a LUKS encrypted volume"},
	{0, "hsqs", "a squashfs file system"},
	{4086, "SWAPSPACE2", "Linux swap"},
	{4086, "SWAP-SPACE", "Linux swap"},
	{4096, "\xfc\x4e\x2b\xa9", "a Linux RAID member (md 1.2)"},
	{0, "\xfc\x4e\x2b\xa9", "a Linux RAID member (md 1.1)"},
	{1024, "\x10\x20\xf5\xf2", "an F2FS file system"},
}

// sigSpan is how much of the disk's start the signatures need.
const sigSpan = 128 << 10

// diskInUse reads (never writes) the start and the end of a disk of size
// bytes and returns what data it holds: "" for none the install knows of,
// else the first partition table or file system found.
func diskInUse(r io.ReaderAt, size int64) (string, error) {
	head := make([]byte, min(sigSpan, size))
	if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
		return "", fmt.Errorf("reading the disk's start: %w", err)
	}
	for _, s := range signatures {
		if end := s.off + int64(len(s.b)); end <= int64(len(head)) && string(head[s.off:end]) == s.b {
			return s.what, nil
		}
	}
	if size >= 2*512 { // the backup GPT header is the last sector
		tail := make([]byte, 512)
		if _, err := r.ReadAt(tail, size-512); err != nil && err != io.EOF {
			return "", fmt.Errorf("reading the disk's end: %w", err)
		}
		if bytes.HasPrefix(tail, []byte("EFI PART")) {
			return "a backup GPT partition table (at its end)", nil
		}
	}
	return "", nil
}
