package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"
)

// PutBlob stores the content of r as a blob and returns its digest. When want
// is not empty the content must have that digest (sha256 or sha512), or
// nothing is stored; else its sha256 is computed. The blob is written to a
// temporary file and renamed into place only when whole.
func (s *Store) PutBlob(r io.Reader, want digest.Digest) (digest.Digest, error) {
	unlock, err := s.writeLock()
	if err != nil {
		return "", err
	}
	defer unlock()
	return s.putBlob(r, want)
}

// putBlob is PutBlob for a caller that holds the shared gc lock.
func (s *Store) putBlob(r io.Reader, want digest.Digest) (digest.Digest, error) {
	alg := digest.Canonical
	if want != "" {
		if err := CheckDigest(want); err != nil {
			return "", err
		}
		if s.HasBlob(want, -1) {
			s.TouchBlob(want)
			_, err := io.Copy(io.Discard, r)
			return want, err
		}
		alg = want.Algorithm()
	}
	f, err := os.CreateTemp(s.TempDir(), tempPattern("blob"))
	if err != nil {
		return "", fmt.Errorf("store %s: %w", s.dir, err)
	}
	defer os.Remove(f.Name())
	dg := alg.Digester()
	if _, err := io.Copy(io.MultiWriter(f, dg.Hash()), r); err != nil {
		f.Close()
		return "", fmt.Errorf("store %s: write blob: %w", s.dir, err)
	}
	got := dg.Digest()
	if want != "" && got != want {
		f.Close()
		return "", fmt.Errorf("blob %s: %w: content is %s", want, ErrDigest, got)
	}
	if err := syncClose(f); err != nil {
		return "", fmt.Errorf("store %s: %w", s.dir, err)
	}
	return got, s.rename(f.Name(), got)
}

// PutBlobFile stores the file at path as blob want (sha256 computed when
// empty), copying it while hashing it.
func (s *Store) PutBlobFile(path string, want digest.Digest) (digest.Digest, error) {
	unlock, err := s.writeLock()
	if err != nil {
		return "", err
	}
	defer unlock()
	return s.putBlobFile(path, want)
}

func (s *Store) putBlobFile(path string, want digest.Digest) (digest.Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	d, err := s.putBlob(f, want)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// CommitFile moves the file at path, which the caller verified to have
// digest d, into the store as blob d. path must be under TempDir.
func (s *Store) CommitFile(path string, d digest.Digest) error {
	if err := CheckDigest(d); err != nil {
		return err
	}
	unlock, err := s.writeLock()
	if err != nil {
		return err
	}
	defer unlock()
	return s.commitFile(path, d)
}

func (s *Store) commitFile(path string, d digest.Digest) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := syncClose(f); err != nil {
		return err
	}
	return s.rename(path, d)
}

// rename makes the synced file at path blob d, read-only.
func (s *Store) rename(path string, d digest.Digest) error {
	if err := os.Chmod(path, 0o444); err != nil {
		return err
	}
	return s.renameKeep(path, d)
}

// renameKeep is rename keeping the file's mode (a hard link's).
func (s *Store) renameKeep(path string, d digest.Digest) error {
	dst := s.BlobPath(d)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("store %s: %w", s.dir, err)
	}
	if err := os.Rename(path, dst); err != nil {
		return fmt.Errorf("store %s: blob %s: %w", s.dir, d, err)
	}
	return nil
}

// TouchBlob marks blob d as just used, so that GC's grace period protects it
// while a push that found it present sends the manifest that references it.
func (s *Store) TouchBlob(d digest.Digest) {
	if CheckDigest(d) == nil {
		now := time.Now()
		os.Chtimes(s.BlobPath(d), now, now)
	}
}

// DeleteBlob removes blob d. A manifest that references it becomes
// unpullable: the registry API allows it, GC does it only to unreferenced blobs.
func (s *Store) DeleteBlob(d digest.Digest) error {
	if err := CheckDigest(d); err != nil {
		return err
	}
	unlock, err := s.writeLock()
	if err != nil {
		return err
	}
	defer unlock()
	err = os.Remove(s.BlobPath(d))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("blob %s: %w", d, ErrNotFound)
	}
	return err
}

func syncClose(f *os.File) error {
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
