package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// PutManifest stores the manifest raw of media type mediaType in repo. ref
// is a tag (the tag moves to this manifest) or the manifest's digest (then
// raw must have it; its algorithm is the one the manifest is stored under),
// or empty (untagged, sha256). Every blob the manifest references must be in
// the store already. It returns the digest.
func (s *Store) PutManifest(repo, ref string, raw []byte, mediaType string) (digest.Digest, error) {
	unlock, err := s.writeLock()
	if err != nil {
		return "", err
	}
	defer unlock()
	return s.putManifestLocked(repo, ref, raw, mediaType)
}

// putManifestLocked is PutManifest for a caller that holds the shared gc lock.
func (s *Store) putManifestLocked(repo, ref string, raw []byte, mediaType string) (digest.Digest, error) {
	if !ValidRepository(repo) {
		return "", fmt.Errorf("repository %q: %w: want the distribution spec's name grammar", repo, ErrInvalid)
	}
	alg, tag := digest.Canonical, ref
	if want := digest.Digest(ref); CheckDigest(want) == nil {
		alg, tag = want.Algorithm(), ""
		if got := alg.FromBytes(raw); got != want {
			return "", fmt.Errorf("manifest %s: %w: content is %s", want, ErrDigest, got)
		}
	} else if ref != "" && !ValidTag(ref) {
		return "", fmt.Errorf("tag %q: %w: want [A-Za-z0-9_][A-Za-z0-9._-]{0,127}", ref, ErrInvalid)
	}
	var probe struct {
		ArtifactType string `json:"artifactType"`
		Config       ocispec.Descriptor
		Layers       []ocispec.Descriptor
		Manifests    []ocispec.Descriptor
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return "", fmt.Errorf("manifest: %w: %v", ErrInvalid, err)
	}
	refs := append(append(probe.Layers, probe.Manifests...), probe.Config)
	for _, r := range refs {
		if nonDistributable(r) {
			continue // the spec lets a registry take it without the blob
		}
		if r.Digest != "" && !s.HasBlob(r.Digest, r.Size) {
			return "", fmt.Errorf("manifest references %s (%d bytes), not in the store: %w", r.Digest, r.Size, ErrNotFound)
		}
	}
	d, err := s.putBlob(bytes.NewReader(raw), alg.FromBytes(raw))
	if err != nil {
		return "", err
	}
	// One fsync of the blobs' directory makes the renames of the blobs
	// (layers, config, manifest) durable before the index names them.
	if err := syncDir(filepath.Dir(s.BlobPath(d))); err != nil {
		return "", fmt.Errorf("store %s: %w", s.dir, err)
	}
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(raw)), ArtifactType: probe.ArtifactType,
		Annotations: map[string]string{AnnotationRepository: repo}}
	if tag != "" {
		desc.Annotations[AnnotationRefName] = repo + ":" + tag
	}
	return d, s.withIndex(func(idx *ocispec.Index) error {
		var keep []ocispec.Descriptor
		for _, e := range idx.Manifests {
			if RepositoryOf(e) != repo {
				keep = append(keep, e)
				continue
			}
			t := TagOf(e)
			switch {
			case tag == "" && e.Digest == d:
				return nil // listed already
			case tag != "" && t == tag:
				continue // the tag moves
			case e.Digest == d && t == "":
				continue // untagged until now: the tagged entry replaces it
			}
			keep = append(keep, e)
		}
		idx.Manifests = append(keep, desc)
		return nil
	})
}

// DeleteTag removes tag from repo. The manifest stays in repo, untagged,
// unless another tag of repo still names it.
func (s *Store) DeleteTag(repo, tag string) error {
	found := false
	err := s.withIndex(func(idx *ocispec.Index) error {
		var keep []ocispec.Descriptor
		var gone *ocispec.Descriptor
		for _, e := range idx.Manifests {
			if RepositoryOf(e) == repo && TagOf(e) == tag {
				found = true
				gone = &e
				continue
			}
			keep = append(keep, e)
		}
		if gone == nil {
			return nil
		}
		still := false
		for _, e := range keep {
			if RepositoryOf(e) == repo && e.Digest == gone.Digest {
				still = true
			}
		}
		if !still {
			u := *gone
			u.Annotations = map[string]string{AnnotationRepository: repo}
			keep = append(keep, u)
		}
		idx.Manifests = keep
		return nil
	})
	if err == nil && !found {
		return fmt.Errorf("%s:%s: %w", repo, tag, ErrNotFound)
	}
	return err
}

// DeleteManifest removes the manifest d and every tag naming it from repo.
// Its blobs stay until GC finds nothing else references them.
func (s *Store) DeleteManifest(repo string, d digest.Digest) error {
	found := false
	err := s.withIndex(func(idx *ocispec.Index) error {
		var keep []ocispec.Descriptor
		for _, e := range idx.Manifests {
			if RepositoryOf(e) == repo && e.Digest == d {
				found = true
				continue
			}
			keep = append(keep, e)
		}
		idx.Manifests = keep
		return nil
	})
	if err == nil && !found {
		return fmt.Errorf("%s@%s: %w", repo, d, ErrNotFound)
	}
	return err
}

// nonDistributable reports whether a layer is one a registry need not hold:
// non-distributable media types (image-spec, docker foreign layers) and
// layers fetched from their URLs.
func nonDistributable(d ocispec.Descriptor) bool {
	return len(d.URLs) > 0 || strings.Contains(d.MediaType, ".nondistributable.") ||
		strings.Contains(d.MediaType, ".foreign.")
}
