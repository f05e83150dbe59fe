package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// view is index.json read once, with its repositories looked up.
type view struct {
	idx   *ocispec.Index
	repos map[string]*repoView
	names []string // repository names, sorted
}

// repoView is one repository of a view.
type repoView struct {
	tags    map[string]ocispec.Descriptor
	tagList []string // sorted
	digests map[digest.Digest]ocispec.Descriptor
}

// RepositoryOf returns the repository of an index.json entry.
func RepositoryOf(e ocispec.Descriptor) string { return e.Annotations[AnnotationRepository] }

// TagOf returns the tag of an index.json entry ("" when untagged).
func TagOf(e ocispec.Descriptor) string {
	repo := RepositoryOf(e)
	ref := e.Annotations[AnnotationRefName]
	if t, ok := strings.CutPrefix(ref, repo+":"); ok && repo != "" {
		return t
	}
	return ""
}

func newView(idx *ocispec.Index) *view {
	v := &view{idx: idx, repos: map[string]*repoView{}}
	for _, e := range idx.Manifests {
		name := RepositoryOf(e)
		if name == "" {
			continue // not ours (another tool's entry): left alone
		}
		r := v.repos[name]
		if r == nil {
			r = &repoView{tags: map[string]ocispec.Descriptor{}, digests: map[digest.Digest]ocispec.Descriptor{}}
			v.repos[name] = r
			v.names = append(v.names, name)
		}
		if t := TagOf(e); t != "" {
			r.tags[t] = e
			r.tagList = append(r.tagList, t)
		}
		if _, ok := r.digests[e.Digest]; !ok {
			r.digests[e.Digest] = e
		}
	}
	sort.Strings(v.names)
	for _, r := range v.repos {
		sort.Strings(r.tagList)
	}
	return v
}

// index returns index.json as last written, read again only when it changed.
func (s *Store) index() (*view, error) {
	fi, err := os.Stat(s.indexPath())
	if errors.Is(err, os.ErrNotExist) {
		return newView(emptyIndex()), nil
	} else if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.dir, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.view != nil && os.SameFile(fi, s.stat) && fi.ModTime().Equal(s.stat.ModTime()) && fi.Size() == s.stat.Size() {
		return s.view, nil
	}
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	s.view, s.stat = newView(idx), fi
	return s.view, nil
}

func (s *Store) readIndex() (*ocispec.Index, error) {
	b, err := os.ReadFile(s.indexPath())
	if errors.Is(err, os.ErrNotExist) {
		return emptyIndex(), nil
	} else if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.dir, err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("store %s: index.json: %w", s.dir, err)
	}
	return &idx, nil
}

func emptyIndex() *ocispec.Index {
	return &ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: IndexMediaType, Manifests: []ocispec.Descriptor{}}
}

// Index returns a copy of the store's index.json.
func (s *Store) Index() (*ocispec.Index, error) {
	v, err := s.index()
	if err != nil {
		return nil, err
	}
	idx := *v.idx
	idx.Manifests = slices.Clone(idx.Manifests)
	return &idx, nil
}

// Repositories returns the names of the repositories that hold a manifest, sorted.
func (s *Store) Repositories() ([]string, error) {
	v, err := s.index()
	if err != nil {
		return nil, err
	}
	return slices.Clone(v.names), nil
}

// HasRepository reports whether repo holds a manifest.
func (s *Store) HasRepository(repo string) bool {
	v, err := s.index()
	return err == nil && v.repos[repo] != nil
}

// Tags returns the tags of repo, sorted; ErrNotFound when repo holds nothing.
func (s *Store) Tags(repo string) ([]string, error) {
	v, err := s.index()
	if err != nil {
		return nil, err
	}
	r := v.repos[repo]
	if r == nil {
		return nil, fmt.Errorf("repository %s: %w", repo, ErrNotFound)
	}
	return slices.Clone(r.tagList), nil
}

// Resolve returns the descriptor of the manifest of repo with tag or digest
// ref. A digest may also name a manifest of an index that repo holds.
func (s *Store) Resolve(repo, ref string) (ocispec.Descriptor, error) {
	v, err := s.index()
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	r := v.repos[repo]
	if r == nil {
		return ocispec.Descriptor{}, fmt.Errorf("repository %s: %w", repo, ErrNotFound)
	}
	if d, ok := r.tags[ref]; ok {
		return d, nil
	}
	dg := digest.Digest(ref)
	if CheckDigest(dg) != nil {
		return ocispec.Descriptor{}, fmt.Errorf("%s:%s: %w", repo, ref, ErrNotFound)
	}
	if d, ok := r.digests[dg]; ok {
		return d, nil
	}
	// A manifest of an index (a multi-platform image copied in), listed
	// by the index rather than by index.json.
	for _, e := range r.digests {
		if e.MediaType != IndexMediaType && e.MediaType != "application/vnd.docker.distribution.manifest.list.v2+json" {
			continue
		}
		b, err := s.ReadBlob(e.Digest)
		if err != nil {
			continue
		}
		var idx ocispec.Index
		if json.Unmarshal(b, &idx) != nil {
			continue
		}
		for _, m := range idx.Manifests {
			if m.Digest == dg {
				return ocispec.Descriptor{MediaType: m.MediaType, Digest: m.Digest, Size: m.Size, ArtifactType: m.ArtifactType}, nil
			}
		}
	}
	return ocispec.Descriptor{}, fmt.Errorf("%s@%s: %w", repo, ref, ErrNotFound)
}

// withIndex runs f on index.json under an exclusive lock and writes the result atomically.
func (s *Store) withIndex(f func(*ocispec.Index) error) error {
	unlock, err := s.lock("index.lock", syscall.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
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
	return writeFileAtomic(s.indexPath(), b, s.TempDir())
}

// migrate gives the entries of a store written before repositories (a ref
// name that is a bare tag, no repository) the DefaultRepository.
func (s *Store) migrate() error {
	if _, err := os.Stat(s.indexPath()); errors.Is(err, os.ErrNotExist) {
		return s.withIndex(func(*ocispec.Index) error { return nil })
	}
	v, err := s.index()
	if err != nil {
		return err
	}
	old := false
	for _, e := range v.idx.Manifests {
		if RepositoryOf(e) == "" && (e.MediaType == ManifestMediaType || e.MediaType == IndexMediaType) {
			old = true
		}
	}
	if !old {
		return nil
	}
	return s.withIndex(func(idx *ocispec.Index) error {
		for i, e := range idx.Manifests {
			if RepositoryOf(e) != "" {
				continue
			}
			a := map[string]string{}
			for k, val := range e.Annotations {
				a[k] = val
			}
			repo := DefaultRepository
			if ref := a[AnnotationRefName]; ref != "" {
				if r, t, ok := strings.Cut(ref, ":"); ok && ValidRepository(r) && ValidTag(t) {
					repo = r // a full "repo:tag" another tool wrote
				} else if ValidTag(ref) {
					a[AnnotationRefName] = repo + ":" + ref
				}
			}
			a[AnnotationRepository] = repo
			idx.Manifests[i].Annotations = a
		}
		return nil
	})
}
