package store

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"

	"github.com/opencontainers/go-digest"
)

// How a file became a second name of the same bytes (Place).
type How int

const (
	Linked How = iota // a hard link: one inode, two names
	Cloned            // a reflink (FICLONE): shared extents, copy-on-write
	Copied            // a copy: the two are on different file systems
)

func (h How) String() string {
	return [...]string{"linked", "cloned", "copied"}[h]
}

// AddFile makes the file at path blob want (its sha256 when want is empty)
// without copying its bytes when it can: a hard link into the store when both
// are on one file system, else a reflink, else a copy. The bytes are read
// once, to verify them; the blob is fsynced once. A linked blob and path are
// then one inode, which keeps path's mode (a copied blob is 0444, as every
// other): a layer file is never written in place (verity.Append refuses a
// file with more than one link), it is replaced by a rename, which leaves
// the blob as it was.
func (s *Store) AddFile(path string, want digest.Digest) (digest.Digest, How, error) {
	unlock, err := s.writeLock()
	if err != nil {
		return "", 0, err
	}
	defer unlock()
	return s.addFile(path, want)
}

func (s *Store) addFile(path string, want digest.Digest) (digest.Digest, How, error) {
	alg := digest.Canonical
	if want != "" {
		if err := CheckDigest(want); err != nil {
			return "", 0, err
		}
		if s.HasBlob(want, -1) {
			s.TouchBlob(want)
			return want, Linked, nil
		}
		alg = want.Algorithm()
	}
	// NAME.PID.N, as tempPattern: SweepTemp removes it if the process dies.
	tmp := filepath.Join(s.TempDir(), fmt.Sprintf("blob.%d.%d", os.Getpid(), rand.Uint64()))
	defer os.Remove(tmp) // a no-op once renamed
	got, how, err := Place(path, tmp, alg)
	if err != nil {
		return "", 0, fmt.Errorf("store %s: %s: %w", s.dir, path, err)
	}
	if want != "" && got != want {
		return "", 0, fmt.Errorf("%s: blob %s: %w: content is %s", path, want, ErrDigest, got)
	}
	if err := syncPath(tmp); err != nil {
		return "", 0, fmt.Errorf("store %s: %w", s.dir, err)
	}
	if how == Linked {
		// Not chmod 0444: that would change the mode of the caller's file too.
		return got, how, s.renameKeep(tmp, got)
	}
	return got, how, s.rename(tmp, got)
}

// CommitLink makes the file at path, which the caller verified to have
// digest d (a download hashed as it was written), blob d as AddFile does,
// without reading it again. It fsyncs the blob, and path too when the blob
// is not path's inode (a copy onto another file system, a reflink).
func (s *Store) CommitLink(path string, d digest.Digest) (How, error) {
	if err := CheckDigest(d); err != nil {
		return 0, err
	}
	unlock, err := s.writeLock()
	if err != nil {
		return 0, err
	}
	defer unlock()
	if s.HasBlob(d, -1) {
		s.TouchBlob(d)
		return Linked, nil
	}
	tmp := filepath.Join(s.TempDir(), fmt.Sprintf("blob.%d.%d", os.Getpid(), rand.Uint64()))
	defer os.Remove(tmp) // a no-op once renamed
	how, err := place(path, tmp)
	if err != nil {
		return 0, fmt.Errorf("store %s: %s: %w", s.dir, path, err)
	}
	if err := syncPath(tmp); err != nil {
		return 0, fmt.Errorf("store %s: %w", s.dir, err)
	}
	if how == Linked {
		return how, s.renameKeep(tmp, d)
	}
	// Two files now (another file system): the caller's, not synced
	// by the download since the store was to do it, is fsynced too.
	if err := syncPath(path); err != nil {
		return 0, err
	}
	return how, s.rename(tmp, d)
}

// LinkBlob makes dst (which must not exist) a name of blob d, as AddFile
// makes a blob of a file, and verifies its bytes. A copy is fsynced. A
// linked dst has the blob's mode (0444 for a blob the store wrote).
func (s *Store) LinkBlob(d digest.Digest, dst string) (How, error) {
	if err := CheckDigest(d); err != nil {
		return 0, err
	}
	got, how, err := Place(s.BlobPath(d), dst, d.Algorithm())
	if err == nil && got != d {
		err = fmt.Errorf("blob %s: %w: content is %s", d, ErrDigest, got)
	}
	if err == nil && how == Copied {
		err = syncPath(dst)
	}
	if err != nil {
		os.Remove(dst)
		return 0, fmt.Errorf("store %s: %w", s.dir, err)
	}
	return how, nil
}

// Place makes dst, which must not exist, hold the bytes of the regular file
// src: a hard link, else a reflink (FICLONE), else a copy (not synced). It
// reads the bytes once and returns their digest with alg. On error dst is
// removed.
func Place(src, dst string, alg digest.Algorithm) (digest.Digest, How, error) {
	how, err := place(src, dst)
	if err != nil {
		return "", 0, err
	}
	d, _, err := FileDigest(dst, alg)
	if err != nil {
		os.Remove(dst)
		return "", 0, err
	}
	return d, how, nil
}

// place is Place without reading the bytes.
func place(src, dst string) (How, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return 0, err
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("%s: not a regular file", src)
	}
	// link(2) does not follow a symlink: it would link the symlink, so a
	// symlinked layer is reflinked or copied from what it points to.
	if lfi, err := os.Lstat(src); err == nil && lfi.Mode().IsRegular() {
		if err := os.Link(src, dst); err == nil {
			return Linked, nil
		}
	}
	how, err := clone(src, dst)
	if err != nil {
		os.Remove(dst)
		return 0, err
	}
	return how, nil
}

// clone makes dst a reflink of src, or, where the file system cannot, a copy.
func clone(src, dst string) (How, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, err
	}
	how := Cloned
	err = reflink(out, in)
	if err != nil {
		how = Copied
		_, err = io.Copy(out, in) // copy_file_range where the kernel can
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return how, err
}

// syncPath fsyncs the file at path.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return syncClose(f)
}

// syncDir fsyncs the directory dir, making the renames into it durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) {
		return nil // a file system that cannot sync a directory
	}
	return err
}
