package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"syscall"
)

// PutBlob stores the content of r as a blob and returns its digest. When want
// is not empty the content must have that digest, or nothing is stored. The
// blob is written to a temporary file and renamed into place only when whole.
func (s *Store) PutBlob(r io.Reader, want string) (string, error) {
	unlock, err := s.lock("gc.lock", syscall.LOCK_SH)
	if err != nil {
		return "", err
	}
	defer unlock()
	return s.putBlob(r, want)
}

// putBlob is PutBlob for a caller that holds the shared gc lock.
func (s *Store) putBlob(r io.Reader, want string) (string, error) {
	if want != "" {
		if err := checkDigest(want); err != nil {
			return "", err
		}
		if s.HasBlob(want, -1) {
			return want, nil
		}
	}
	f, err := os.CreateTemp(s.tmpDir(), "blob.*")
	if err != nil {
		return "", fmt.Errorf("store %s: %w", s.dir, err)
	}
	defer os.Remove(f.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, h), r); err != nil {
		f.Close()
		return "", fmt.Errorf("store %s: write blob: %w", s.dir, err)
	}
	got := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if want != "" && got != want {
		f.Close()
		return "", fmt.Errorf("blob %s: %w: content is %s", want, ErrDigest, got)
	}
	return got, s.commitBlob(f, got)
}

// commitBlob syncs and closes the temporary file f and renames it to blob d.
func (s *Store) commitBlob(f *os.File, d string) error {
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("store %s: %w", s.dir, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store %s: %w", s.dir, err)
	}
	if err := os.Chmod(f.Name(), 0o444); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), s.BlobPath(d)); err != nil {
		return fmt.Errorf("store %s: blob %s: %w", s.dir, d, err)
	}
	return nil
}

// putBlobFile stores the file at path as blob want (which may be empty),
// copying it while hashing it. The caller holds
// the shared gc lock.
func (s *Store) putBlobFile(path, want string) (string, error) {
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

// blobSize returns the size of the file at path.
func blobSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
