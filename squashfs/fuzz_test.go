package squashfs

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seeds are small real images (mksquashfs 4.5.1) holding every kind of
// entry Inspect reads: a directory with an opaque xattr, a file with a user
// xattr and a hard link, a symlink, a whiteout, overlay xattrs to strip.
func seeds(t testing.TB) [][]byte {
	t.Helper()
	names, err := filepath.Glob("testdata/seed-*.sqfs")
	if err != nil || len(names) == 0 {
		t.Fatalf("no seed images in testdata: %v", err)
	}
	var out [][]byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzInspect feeds mutated images to the reader: it must return entries or
// an error, never panic, hang or allocate past what the image can hold. The
// rewrite of the xattr table (StripOverlayXattrs) parses through the same
// reader, so it is fuzzed too, with its walk of an uncompressed inode table.
func FuzzInspect(f *testing.F) {
	for _, b := range seeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, img []byte) {
		entries, err := inspect(bytes.NewReader(img), int64(len(img)))
		if err == nil && len(entries) == 0 {
			t.Fatal("no error and no entries: an image has at least its root")
		}
		if s, err := openSqfs(bytes.NewReader(img), int64(len(img))); err == nil {
			for i := range s.xattrIDs {
				if _, err := s.xattrs(uint32(i)); err != nil {
					break
				}
			}
			if t, err := s.readInodeTable(); err == nil { // the strip's walk of the inodes
				t.xattrFields(s.sb.InodeCount, s.sb.BlockSize)
			}
		}
	})
}

// TestInspectSeeds: the seeds read as what they hold.
func TestInspectSeeds(t *testing.T) {
	for _, b := range seeds(t) {
		entries, err := inspect(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]Entry{}
		for _, e := range entries {
			got[e.Path] = e
		}
		if got["/etc/motd"].Xattrs["user.a"] != "one" || !got["/etc/opq"].Opaque || !got["/wh"].Whiteout ||
			got["/d/link"].Target != "../etc/motd" || got["/hard"].Inode != got["/etc/motd"].Inode {
			t.Errorf("seed entries: %+v", entries)
		}
	}
}

// TestInspectCorruptXattrIDCount is issue 12's out-of-memory crash: a layer
// whose xattr id count is corrupt. Inspect must fail with an error that
// says so, without allocating by the count.
func TestInspectCorruptXattrIDCount(t *testing.T) {
	for _, b := range seeds(t) {
		img := bytes.Clone(b)
		xt := binary.LittleEndian.Uint64(img[56:]) // superblock: xattr id table
		for _, n := range []uint32{0xFFFFFFFF, 0x10000000, 5000} {
			binary.LittleEndian.PutUint32(img[xt+8:], n)
			p := filepath.Join(t.TempDir(), "bad.sqfs")
			if err := os.WriteFile(p, img, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Inspect(p)
			if err == nil || !strings.Contains(err.Error(), "xattr") || !strings.Contains(err.Error(), p) {
				t.Errorf("xattr id count %d: %v, want an error naming the file and the xattr table", n, err)
			}
		}
	}
}
