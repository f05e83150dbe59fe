package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/verity"
)

// tmpfs mounts a small tmpfs at a new directory (another file system than
// the test's temporary directory) and unmounts it when the test ends.
func tmpfs(t *testing.T) string {
	t.Helper()
	testutil.RequiresRoot(t)
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=16m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// layerFile writes a 0644 file of n bytes in dir and returns its path and digest.
func layerFile(t *testing.T, dir string, n int) (string, digest.Digest) {
	t.Helper()
	b := []byte(strings.Repeat("squashfs", n/8))
	path := filepath.Join(dir, "base.sqfs")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, digest.FromBytes(b)
}

// blobOK fails unless blob d holds bytes of digest d.
func blobOK(t *testing.T, s *store.Store, d digest.Digest) {
	t.Helper()
	got, _, err := store.FileDigest(s.BlobPath(d), d.Algorithm())
	if err != nil || got != d {
		t.Errorf("blob %s holds %s, %v", d, got, err)
	}
}

func noTemp(t *testing.T, s *store.Store) {
	t.Helper()
	if es, _ := os.ReadDir(s.TempDir()); len(es) != 0 {
		t.Errorf("the store's temporary directory holds %d files", len(es))
	}
}

// TestAddFileLinks: on one file system the blob is the file (one inode, the
// file's mode); a file that does not match its digest adds nothing.
func TestAddFileLinks(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	path, d := layerFile(t, t.TempDir(), 1<<20)
	got, how, err := s.AddFile(path, d)
	if err != nil || got != d || how != store.Linked {
		t.Fatalf("AddFile = %s, %v, %v; want %s, linked", got, how, err, d)
	}
	a, _ := os.Stat(path)
	b, err := os.Stat(s.BlobPath(d))
	if err != nil || !os.SameFile(a, b) {
		t.Errorf("blob and file are not one inode: %v", err)
	}
	if a.Mode().Perm() != 0o644 {
		t.Errorf("the file's mode became %v, want 0644 as it was", a.Mode().Perm())
	}
	blobOK(t, s, d)
	noTemp(t, s)

	// A symlink to a layer: the blob is the bytes, not the symlink.
	target, sd := layerFile(t, t.TempDir(), 8192)
	sym := filepath.Join(t.TempDir(), "sym.sqfs")
	if err := os.Symlink(target, sym); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddFile(sym, sd); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(s.BlobPath(sd)); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("blob of a symlinked layer: %v, %v; want a regular file", fi.Mode(), err)
	}
	blobOK(t, s, sd)

	other, _ := layerFile(t, t.TempDir(), 4096)
	wrong := digest.FromString("not this")
	if _, _, err := s.AddFile(other, wrong); !errors.Is(err, store.ErrDigest) || !strings.Contains(err.Error(), other) {
		t.Errorf("a file of another digest: %v, want ErrDigest naming %s", err, other)
	}
	if s.HasBlob(wrong, -1) {
		t.Error("a file of another digest became a blob")
	}
	noTemp(t, s)
}

// TestAddFileAcrossFileSystems: a file on a tmpfs is copied into the store
// (no link, no reflink across file systems), read-only, and verified.
func TestAddFileAcrossFileSystems(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	path, d := layerFile(t, tmpfs(t), 1<<20)
	_, how, err := s.AddFile(path, d)
	if err != nil || how != store.Copied {
		t.Fatalf("AddFile from a tmpfs: %v, %v; want copied", how, err)
	}
	a, _ := os.Stat(path)
	b, _ := os.Stat(s.BlobPath(d))
	if os.SameFile(a, b) || b.Mode().Perm() != 0o444 {
		t.Errorf("blob: same inode %v, mode %v; want a copy, 0444", os.SameFile(a, b), b.Mode().Perm())
	}
	blobOK(t, s, d)
	noTemp(t, s)

	// And out of the store onto the tmpfs: a copy too, verified.
	dst := filepath.Join(filepath.Dir(path), "again.sqfs")
	if how, err := s.LinkBlob(d, dst); err != nil || how != store.Copied {
		t.Fatalf("LinkBlob onto a tmpfs: %v, %v; want copied", how, err)
	}
	if got, _, _ := store.FileDigest(dst, digest.SHA256); got != d {
		t.Errorf("copied out: %s, want %s", got, d)
	}
}

// TestLinkedLayerNeverWrittenInPlace: verity.Append, the one writer into a
// finished layer file, refuses a file linked to a blob, and the blob keeps
// its bytes; a rebuild replaces the file by a rename, which leaves the blob
// as it was.
func TestLinkedLayerNeverWrittenInPlace(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path, d := layerFile(t, dir, 64<<10)
	if _, _, err := s.AddFile(path, d); err != nil {
		t.Fatal(err)
	}
	if _, err := verity.Append(path); err == nil || !strings.Contains(err.Error(), "hard links") {
		t.Errorf("verity.Append on a linked layer: %v, want a refusal", err)
	}
	blobOK(t, s, d)

	next := filepath.Join(dir, ".base.sqfs.tmp")
	if err := os.WriteFile(next, []byte("rebuilt"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := verity.Append(next); err != nil { // a file of its own: fine
		t.Fatal(err)
	}
	if err := os.Rename(next, path); err != nil {
		t.Fatal(err)
	}
	blobOK(t, s, d)
	if got, _, _ := store.FileDigest(path, digest.SHA256); got == d {
		t.Error("the rebuilt file still has the old bytes")
	}
}
