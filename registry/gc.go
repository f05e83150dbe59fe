package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// GCResult says what GC removed.
type GCResult struct {
	Blobs int   // blobs removed
	Bytes int64 // their size
	Temp  int   // stale temporary files removed
}

// GC removes the blobs that nothing references: the roots are the manifests
// listed in index.json; a manifest references its config, its layers, the
// manifests of an index, and (for a chain) its parent chain's manifest. It
// also removes temporary files older than an hour. GC holds the store's exclusive
// gc lock, so it waits for writers in other processes, and they for it.
func (s *Store) GC(ctx context.Context) (GCResult, error) {
	var res GCResult
	unlock, err := s.lock("gc.lock", syscall.LOCK_EX)
	if err != nil {
		return res, err
	}
	defer unlock()
	idx, err := s.Index()
	if err != nil {
		return res, err
	}
	live := map[string]bool{}
	var walk func(d string) error
	walk = func(d string) error {
		if live[d] || checkDigest(d) != nil {
			return nil
		}
		live[d] = true
		b, err := os.ReadFile(s.BlobPath(d))
		if err != nil {
			return nil // a dangling reference keeps nothing else alive
		}
		var m struct {
			Config      *struct{ Digest string }
			Layers      []struct{ Digest string }
			Manifests   []struct{ Digest string }
			Annotations map[string]string
		}
		if json.Unmarshal(b, &m) != nil {
			return nil // not a manifest
		}
		var refs []string
		if m.Config != nil {
			refs = append(refs, m.Config.Digest)
		}
		for _, l := range m.Layers {
			refs = append(refs, l.Digest)
		}
		for _, l := range m.Manifests {
			refs = append(refs, l.Digest)
		}
		if p := m.Annotations[AnnotationParent]; p != "" {
			refs = append(refs, p)
		}
		for _, r := range refs {
			if err := walk(r); err != nil {
				return err
			}
		}
		return ctx.Err()
	}
	for _, d := range idx.Manifests {
		if err := walk(string(d.Digest)); err != nil {
			return res, err
		}
	}
	dir := filepath.Join(s.dir, "blobs", "sha256")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return res, fmt.Errorf("store %s: %w", s.dir, err)
	}
	for _, e := range ents {
		if live["sha256:"+e.Name()] || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return res, fmt.Errorf("store %s: %w", s.dir, err)
		}
		res.Blobs++
		res.Bytes += fi.Size()
	}
	// Temporary files an hour old belong to no running pull or upload.
	tmps, _ := os.ReadDir(s.tmpDir())
	for _, e := range tmps {
		fi, err := e.Info()
		if err != nil || time.Since(fi.ModTime()) < time.Hour {
			continue
		}
		if os.RemoveAll(filepath.Join(s.tmpDir(), e.Name())) == nil {
			res.Temp++
		}
	}
	return res, nil
}
