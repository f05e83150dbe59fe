package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrNotFound is returned for a repository, tag, digest or blob the store does not have.
var ErrNotFound = errors.New("not found")

// Store is the local store: an OCI image layout on disk (oci-layout,
// index.json, blobs/<algorithm>/<hex>). Every layer is a blob and every
// chain a manifest of a repository; index.json lists each manifest with its
// repository (AnnotationRepository) and, when tagged, its ref name
// "REPO:TAG" (AnnotationRefName), so crane, oras and skopeo read it. Blobs
// are shared by all repositories.
//
// Blobs are written to a temporary file and renamed into place once verified;
// index.json is replaced atomically under an exclusive lock (flock on
// index.lock), so concurrent mode processes are safe. Writers hold a shared
// lock on gc.lock while they add blobs, and GC an exclusive one.
type Store struct {
	dir string

	mu   sync.Mutex
	view *view       // index.json as last read
	stat os.FileInfo // of index.json when view was read
}

// DefaultStore returns the default store directory: $MODE_STORE when set,
// else /var/lib/mode/store when running as root, else
// $XDG_DATA_HOME/mode/store (~/.local/share/mode/store).
func DefaultStore() string {
	if d := os.Getenv("MODE_STORE"); d != "" {
		return d
	}
	if os.Geteuid() == 0 {
		return "/var/lib/mode/store"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "mode", "store")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "mode-store")
	}
	return filepath.Join(home, ".local", "share", "mode", "store")
}

const layoutFile = `{"imageLayoutVersion":"1.0.0"}`

// Open opens the store at dir, creating an empty OCI layout there if dir
// does not hold one yet. A store written before repositories existed (tags
// without a repository) is migrated: its tags move to DefaultRepository.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("store: empty directory name")
	}
	s := &Store{dir: dir}
	for _, d := range []string{s.TempDir(), filepath.Join(dir, "blobs", "sha256")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("store %s: %w", dir, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "oci-layout")); err == nil {
		var l ocispec.ImageLayout
		if err := json.Unmarshal(b, &l); err != nil || l.Version == "" {
			return nil, fmt.Errorf("store %s: oci-layout is not an OCI image layout file", dir)
		}
	} else if errors.Is(err, os.ErrNotExist) {
		if err := writeFileAtomic(filepath.Join(dir, "oci-layout"), []byte(layoutFile), s.TempDir()); err != nil {
			return nil, fmt.Errorf("store %s: %w", dir, err)
		}
	} else {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	if err := s.migrate(); err != nil {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	return s, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// TempDir is the store's directory for temporary files (downloads, uploads):
// on the same file system as the blobs, so that a verified file is renamed in.
func (s *Store) TempDir() string { return filepath.Join(s.dir, ".tmp") }

func (s *Store) indexPath() string { return filepath.Join(s.dir, "index.json") }

// BlobPath returns the path of the blob with digest d (which may not exist).
// d must be a checked digest (CheckDigest).
func (s *Store) BlobPath(d digest.Digest) string {
	return filepath.Join(s.dir, "blobs", string(d.Algorithm()), d.Encoded())
}

// HasBlob reports whether the store holds the blob d with size size (any size when size < 0).
func (s *Store) HasBlob(d digest.Digest, size int64) bool {
	if CheckDigest(d) != nil {
		return false
	}
	fi, err := os.Stat(s.BlobPath(d))
	return err == nil && fi.Mode().IsRegular() && (size < 0 || fi.Size() == size)
}

// OpenBlob opens the blob d for reading.
func (s *Store) OpenBlob(d digest.Digest) (*os.File, error) {
	if err := CheckDigest(d); err != nil {
		return nil, err
	}
	f, err := os.Open(s.BlobPath(d))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", d, ErrNotFound)
	}
	return f, err
}

// ReadBlob returns the content of the (small) blob d, verified.
func (s *Store) ReadBlob(d digest.Digest) ([]byte, error) {
	if err := CheckDigest(d); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(s.BlobPath(d))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", d, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.dir, err)
	}
	if got := d.Algorithm().FromBytes(b); got != d {
		return nil, fmt.Errorf("store %s: blob %s: %w (content is %s)", s.dir, d, ErrDigest, got)
	}
	return b, nil
}

// lock takes a flock of kind how on the file name in the store and returns its release.
func (s *Store) lock(name string, how int) (func(), error) {
	f, err := os.OpenFile(filepath.Join(s.dir, name), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store %s: lock: %w", s.dir, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store %s: lock %s: %w", s.dir, name, err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// writeLock takes the shared gc lock that every writer of blobs holds.
func (s *Store) writeLock() (func(), error) { return s.lock("gc.lock", syscall.LOCK_SH) }

// writeFileAtomic writes b to path through a temporary file in tmpDir.
func writeFileAtomic(path string, b []byte, tmpDir string) error {
	f, err := os.CreateTemp(tmpDir, tempPattern(filepath.Base(path)))
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
