package store

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/go-digest"
)

// GCResult says what GC removed.
type GCResult struct {
	Blobs     int   // blobs removed
	Bytes     int64 // their size
	Temp      int   // stale temporary files (uploads, partial pulls) removed
	TempBytes int64 // their size
	Kept      int   // unreferenced blobs kept because they are younger than the grace period
}

// DefaultGrace is how long GC keeps an unreferenced blob after it was last
// written or found present by a push: long enough for any push under way to
// send the manifest that references it.
const DefaultGrace = time.Hour

// GC removes the blobs that nothing references and that were not written or
// used within grace: the roots are the manifests listed in index.json (of
// every repository); a manifest references its config, its layers, its
// subject, the manifests of an index, and (for a chain) its parent chain's
// manifest. It also removes temporary files older than grace. GC holds the
// store's exclusive gc lock, so it waits for writers, and they for it; the
// grace period protects the blobs of a push whose manifest has not arrived
// yet, so GC is safe while mode serve takes pushes.
func (s *Store) GC(ctx context.Context, grace time.Duration) (GCResult, error) {
	var res GCResult
	unlock, err := s.lock("gc.lock", syscall.LOCK_EX)
	if err != nil {
		return res, err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return res, err
	}
	live := map[digest.Digest]bool{}
	var walk func(d digest.Digest) error
	walk = func(d digest.Digest) error {
		if live[d] || CheckDigest(d) != nil {
			return nil
		}
		live[d] = true
		b, err := os.ReadFile(s.BlobPath(d))
		if err != nil {
			return nil // a dangling reference keeps nothing else alive
		}
		var m struct {
			Config      *struct{ Digest digest.Digest }
			Subject     *struct{ Digest digest.Digest }
			Layers      []struct{ Digest digest.Digest }
			Manifests   []struct{ Digest digest.Digest }
			Annotations map[string]string
		}
		if json.Unmarshal(b, &m) != nil {
			return nil // not a manifest
		}
		var refs []digest.Digest
		if m.Config != nil {
			refs = append(refs, m.Config.Digest)
		}
		for _, l := range append(m.Layers, m.Manifests...) {
			refs = append(refs, l.Digest)
		}
		if p := m.Annotations[AnnotationParent]; p != "" {
			refs = append(refs, digest.Digest(p))
		}
		for _, r := range refs {
			if err := walk(r); err != nil {
				return err
			}
		}
		return ctx.Err()
	}
	for _, d := range idx.Manifests {
		if err := walk(d.Digest); err != nil {
			return res, err
		}
	}
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		dir := filepath.Join(s.dir, "blobs", string(alg))
		ents, err := os.ReadDir(dir)
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			return res, fmt.Errorf("store %s: %w", s.dir, err)
		}
		for _, e := range ents {
			if live[digest.NewDigestFromEncoded(alg, e.Name())] || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			fi, err := e.Info()
			if err != nil {
				continue
			}
			if time.Since(fi.ModTime()) < grace {
				res.Kept++
				continue
			}
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return res, fmt.Errorf("store %s: %w", s.dir, err)
			}
			res.Blobs++
			res.Bytes += fi.Size()
		}
	}
	// Temporary files untouched for an hour (or the grace period, if
	// longer) belong to no running pull or upload: mode serve expires its
	// idle uploads sooner, and a pull writes its partial files as it goes.
	tmps, _ := os.ReadDir(s.TempDir())
	for _, e := range tmps {
		fi, err := e.Info()
		if err != nil || time.Since(fi.ModTime()) < max(grace, DefaultGrace) {
			continue
		}
		p := filepath.Join(s.TempDir(), e.Name())
		n := treeSize(p)
		if os.RemoveAll(p) == nil {
			res.Temp++
			res.TempBytes += n
		}
	}
	return res, nil
}

// treeSize is the size of the regular files at or under p.
func treeSize(p string) int64 {
	var n int64
	filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
