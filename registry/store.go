package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrNotFound is returned for a tag, digest or blob the store does not have.
var ErrNotFound = errors.New("not found")

// Store is the local store: an OCI image layout on disk (oci-layout,
// index.json, blobs/sha256/…). Every layer is a blob and every chain a
// manifest tagged with its chain name in index.json
// (org.opencontainers.image.ref.name), so crane, oras and skopeo read it.
//
// Blobs are written to a temporary file and renamed into place once verified;
// index.json is replaced atomically under an exclusive lock (flock on
// index.lock), so concurrent mode processes are safe. Writers hold a shared
// lock on gc.lock while they add blobs, and GC an exclusive one.
type Store struct {
	dir string
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

// OpenStore opens the store at dir, creating an empty OCI layout there if
// dir does not hold one yet.
func OpenStore(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("store: empty directory name")
	}
	s := &Store{dir: dir}
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	if err := os.MkdirAll(s.tmpDir(), 0o755); err != nil {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "oci-layout")); err == nil {
		var l ocispec.ImageLayout
		if err := json.Unmarshal(b, &l); err != nil || l.Version == "" {
			return nil, fmt.Errorf("store %s: oci-layout is not an OCI image layout file", dir)
		}
	} else if errors.Is(err, os.ErrNotExist) {
		if err := writeFileAtomic(filepath.Join(dir, "oci-layout"), []byte(layoutFile), s.tmpDir()); err != nil {
			return nil, fmt.Errorf("store %s: %w", dir, err)
		}
	} else {
		return nil, fmt.Errorf("store %s: %w", dir, err)
	}
	if _, err := os.Stat(s.indexPath()); errors.Is(err, os.ErrNotExist) {
		err := s.withIndex(func(*ocispec.Index) error { return nil })
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) tmpDir() string    { return filepath.Join(s.dir, ".tmp") }
func (s *Store) indexPath() string { return filepath.Join(s.dir, "index.json") }

// BlobPath returns the path of the blob with digest d (which may not exist).
func (s *Store) BlobPath(d string) string {
	return filepath.Join(s.dir, "blobs", "sha256", strings.TrimPrefix(d, "sha256:"))
}

// HasBlob reports whether the store holds the blob d with size size (any size when size < 0).
func (s *Store) HasBlob(d string, size int64) bool {
	if checkDigest(d) != nil {
		return false
	}
	fi, err := os.Stat(s.BlobPath(d))
	return err == nil && fi.Mode().IsRegular() && (size < 0 || fi.Size() == size)
}

// Index returns the store's index.json.
func (s *Store) Index() (*ocispec.Index, error) {
	b, err := os.ReadFile(s.indexPath())
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.dir, err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("store %s: index.json: %w", s.dir, err)
	}
	return &idx, nil
}

// Tags returns the store's tags, sorted.
func (s *Store) Tags() ([]string, error) {
	idx, err := s.Index()
	if err != nil {
		return nil, err
	}
	var tags []string
	for _, d := range idx.Manifests {
		if t := d.Annotations[AnnotationRefName]; t != "" {
			tags = append(tags, t)
		}
	}
	sort.Strings(tags)
	return tags, nil
}

// Resolve returns the descriptor of the manifest with tag or digest ref.
func (s *Store) Resolve(ref string) (ocispec.Descriptor, error) {
	idx, err := s.Index()
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	isDigest := strings.HasPrefix(ref, "sha256:")
	for _, d := range idx.Manifests {
		if (isDigest && string(d.Digest) == ref) || (!isDigest && d.Annotations[AnnotationRefName] == ref) {
			return d, nil
		}
	}
	if isDigest && s.HasBlob(ref, -1) {
		// A manifest referenced by another one (an index), not by index.json.
		b, err := os.ReadFile(s.BlobPath(ref))
		if err == nil {
			var m struct {
				MediaType string `json:"mediaType"`
			}
			if json.Unmarshal(b, &m) == nil && m.MediaType != "" {
				return ocispec.Descriptor{MediaType: m.MediaType, Digest: digest.Digest(ref), Size: int64(len(b))}, nil
			}
		}
	}
	return ocispec.Descriptor{}, fmt.Errorf("store %s: %s: %w", s.dir, ref, ErrNotFound)
}

// ReadBlob returns the content of the (small) blob d, verified.
func (s *Store) ReadBlob(d string) ([]byte, error) {
	if err := checkDigest(d); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(s.BlobPath(d))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("store %s: blob %s: %w", s.dir, d, ErrNotFound)
	} else if err != nil {
		return nil, err
	}
	if got := digestBytes(b); got != d {
		return nil, fmt.Errorf("store %s: blob %s: %w (content is %s)", s.dir, d, ErrDigest, got)
	}
	return b, nil
}

// Chain returns the chain tagged (or with manifest digest) ref: its config,
// its manifest and the manifest digest.
func (s *Store) Chain(ref string) (*Chain, *ocispec.Manifest, string, error) {
	desc, err := s.Resolve(ref)
	if err != nil {
		return nil, nil, "", err
	}
	raw, err := s.ReadBlob(string(desc.Digest))
	if err != nil {
		return nil, nil, "", err
	}
	m, err := parseChainManifest(raw)
	if err != nil {
		return nil, nil, "", fmt.Errorf("store %s: %s: %w", s.dir, ref, err)
	}
	cfg, err := s.ReadBlob(string(m.Config.Digest))
	if err != nil {
		return nil, nil, "", err
	}
	c, err := parseChainConfig(cfg, m)
	if err != nil {
		return nil, nil, "", fmt.Errorf("store %s: %s: %w", s.dir, ref, err)
	}
	return c, m, string(desc.Digest), nil
}

// PutManifest stores the manifest raw of media type mediaType and, when tag
// is not empty, tags it (moving the tag from any other manifest). An untagged
// manifest is listed in index.json without a name. It returns the digest.
// Every blob the manifest references must be in the store already.
func (s *Store) PutManifest(raw []byte, mediaType, tag string) (string, error) {
	unlock, err := s.lock("gc.lock", syscall.LOCK_SH)
	if err != nil {
		return "", err
	}
	defer unlock()
	return s.putManifestLocked(raw, mediaType, tag)
}

// putManifestLocked is PutManifest for a caller that holds the shared gc lock.
func (s *Store) putManifestLocked(raw []byte, mediaType, tag string) (string, error) {
	if tag != "" && !validTag(tag) {
		return "", fmt.Errorf("tag %q: want [A-Za-z0-9_][A-Za-z0-9._-]{0,127}", tag)
	}
	var probe struct {
		ArtifactType string `json:"artifactType"`
		Config       ocispec.Descriptor
		Layers       []ocispec.Descriptor
		Manifests    []ocispec.Descriptor
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return "", fmt.Errorf("manifest: %w", err)
	}
	refs := append(append(probe.Layers, probe.Manifests...), probe.Config)
	for _, r := range refs {
		if r.Digest != "" && !s.HasBlob(string(r.Digest), r.Size) {
			return "", fmt.Errorf("manifest references %s (%d bytes), not in the store: %w", r.Digest, r.Size, ErrNotFound)
		}
	}
	d, err := s.putBlob(bytes.NewReader(raw), "")
	if err != nil {
		return "", err
	}
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.Digest(d), Size: int64(len(raw)), ArtifactType: probe.ArtifactType}
	if tag != "" {
		desc.Annotations = map[string]string{AnnotationRefName: tag}
	}
	return d, s.withIndex(func(idx *ocispec.Index) error {
		var keep []ocispec.Descriptor
		for _, e := range idx.Manifests {
			name := e.Annotations[AnnotationRefName]
			switch {
			case tag == "" && e.Digest == desc.Digest:
				return nil // listed already
			case tag != "" && name == tag:
				continue // the tag moves
			case e.Digest == desc.Digest && name == "":
				continue // untagged until now: the tagged entry replaces it
			}
			keep = append(keep, e)
		}
		idx.Manifests = append(keep, desc)
		return nil
	})
}

// withIndex runs f on index.json under an exclusive lock and writes the result atomically.
func (s *Store) withIndex(f func(*ocispec.Index) error) error {
	unlock, err := s.lock("index.lock", syscall.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	idx := &ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: IndexMediaType}
	if _, err := os.Stat(s.indexPath()); err == nil {
		if idx, err = s.Index(); err != nil {
			return err
		}
	}
	if err := f(idx); err != nil {
		return err
	}
	if idx.Manifests == nil {
		idx.Manifests = []ocispec.Descriptor{}
	}
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.indexPath(), b, s.tmpDir())
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

// validTag reports whether t is an OCI distribution tag.
func validTag(t string) bool {
	if len(t) == 0 || len(t) > 128 {
		return false
	}
	for i, c := range t {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || (i > 0 && (c == '.' || c == '-'))
		if !ok {
			return false
		}
	}
	return true
}

// writeFileAtomic writes b to path through a temporary file in tmpDir.
func writeFileAtomic(path string, b []byte, tmpDir string) error {
	f, err := os.CreateTemp(tmpDir, filepath.Base(path)+".*")
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
