package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/store"
)

func TestAddChain(t *testing.T) {
	s, ls := registrytest.Store(t, []string{"base", "mid", "top"}, 0)
	tags, err := s.Tags(registrytest.Repo)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"base", "mid", "top"}, tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	_, _, midDigest, err := s.Chain(registrytest.Repo, "mid")
	if err != nil {
		t.Fatal(err)
	}
	c, m, _, err := s.Chain(registrytest.Repo, "top")
	if err != nil {
		t.Fatal(err)
	}
	if c.Parent != midDigest || m.Annotations[store.AnnotationParent] != string(midDigest) {
		t.Errorf("parent %s / annotation %s, want %s", c.Parent, m.Annotations[store.AnnotationParent], midDigest)
	}
	if m.ArtifactType != store.ArtifactType || m.Annotations[store.AnnotationChain] != "top" {
		t.Errorf("manifest artifactType %q, chain %q", m.ArtifactType, m.Annotations[store.AnnotationChain])
	}
	for i, l := range ls {
		d, n, err := layers.FileDigest(l.Path)
		if err != nil {
			t.Fatal(err)
		}
		got := c.Layers[i]
		if got.Digest != d || got.Size != n || string(m.Layers[i].Digest) != d {
			t.Errorf("layer %d: config %s/%d, manifest %s; file %s/%d", i, got.Digest, got.Size, m.Layers[i].Digest, d, n)
		}
		if a := m.Layers[i].Annotations; a[store.AnnotationTitle] != l.Meta.File || a[store.AnnotationModule] != l.Meta.Name {
			t.Errorf("layer %d annotations %v", i, a)
		}
		registrytest.SameFile(t, l.Path, s.BlobPath(digest.Digest(d)))
	}
}

func TestAddChainErrors(t *testing.T) {
	ls := registrytest.Chain(t, []string{"base"}, 0)
	wrong := ls[0]
	wrong.Meta.Digest = "sha256:" + strings.Repeat("ab", 32)
	noName := ls[0]
	noName.Meta.Name = ""
	tests := []struct {
		name  string
		chain string
		ls    []store.Layer
		want  string
	}{
		{"no layers", "x", nil, "no layers"},
		{"bad chain name", "no/slash", ls, "not usable as a tag"},
		{"digest mismatch", "base", []store.Layer{wrong}, "does not match its metadata"},
		{"missing file", "base", []store.Layer{{Path: "/nonexistent.sqfs", Meta: ls[0].Meta}}, "nonexistent.sqfs"},
		{"no module name", "base", []store.Layer{noName}, "no module name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := store.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.AddChain(context.Background(), registrytest.Repo, tt.chain, tt.ls)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("AddChain: %v, want an error saying %q", err, tt.want)
			}
			if tags, _ := s.Tags(registrytest.Repo); len(tags) != 0 {
				t.Errorf("failed AddChain tagged %v", tags)
			}
		})
	}
}

// TestStoreConcurrent adds chains from many store handles at once (flock
// locks are per open file, so they exclude each other as processes would).
func TestStoreConcurrent(t *testing.T) {
	dir := t.TempDir()
	ls := registrytest.Chain(t, []string{"base", "top"}, 0)
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := store.Open(dir)
			if err != nil {
				errs <- err
				return
			}
			if _, err := s.AddChain(context.Background(), registrytest.Repo, fmt.Sprintf("chain%02d", i), ls); err != nil {
				errs <- err
			}
			if i%3 == 0 {
				if _, err := s.GC(context.Background(), 0); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := s.Tags(registrytest.Repo)
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != n {
		t.Errorf("%d tags after %d concurrent AddChain: %v", len(tags), n, tags)
	}
	for _, tag := range tags {
		if _, _, _, err := s.Chain(registrytest.Repo, tag); err != nil {
			t.Errorf("chain %s: %v", tag, err)
		}
	}
}

func TestGC(t *testing.T) {
	ctx := context.Background()
	s, old := registrytest.Store(t, []string{"base", "top"}, 0)
	_, _, oldTop, _ := s.Chain(registrytest.Repo, "top")
	oldLayer, _, _ := layers.FileDigest(old[1].Path)
	// Rebuild top on the same base: the old top layer, config and manifest become garbage.
	rebuilt := registrytest.Chain(t, []string{"base", "top"}, 1024)
	if _, err := s.AddChain(ctx, registrytest.Repo, "top", []store.Layer{old[0], rebuilt[1]}); err != nil {
		t.Fatal(err)
	}
	// A stray blob and a stale temporary file.
	stray, err := s.PutBlob(strings.NewReader("stray"), "")
	if err != nil {
		t.Fatal(err)
	}
	// Stale temporary files (an upload, a pull's directory) and a fresh one.
	stale := time.Now().Add(-2 * store.DefaultGrace)
	pullDir := filepath.Join(s.TempDir(), "pull-0123")
	for p, n := range map[string]int{filepath.Join(s.TempDir(), "upload-1"): 100, filepath.Join(pullDir, ".x.partial"): 50, filepath.Join(s.TempDir(), "fresh"): 7} {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
		if filepath.Base(p) != "fresh" {
			os.Chtimes(p, stale, stale)
		}
	}
	os.Chtimes(pullDir, stale, stale)
	res, err := s.GC(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Blobs != 4 { // old top layer, its config and manifest, the stray blob
		t.Errorf("gc removed %d blobs, want 4", res.Blobs)
	}
	if res.Temp != 2 || res.TempBytes != 150 {
		t.Errorf("gc removed %d temporary files (%d bytes), want 2 (150 bytes)", res.Temp, res.TempBytes)
	}
	if _, err := os.Stat(filepath.Join(s.TempDir(), "fresh")); err != nil {
		t.Errorf("gc removed a fresh temporary file: %v", err)
	}
	for _, d := range []digest.Digest{oldTop, digest.Digest(oldLayer), stray} {
		if s.HasBlob(d, -1) {
			t.Errorf("gc kept %s", d)
		}
	}
	for _, tag := range []string{"base", "top"} {
		c, m, _, err := s.Chain(registrytest.Repo, tag)
		if err != nil {
			t.Fatalf("after gc: %v", err)
		}
		for _, l := range m.Layers {
			if !s.HasBlob(l.Digest, l.Size) {
				t.Errorf("gc removed %s of %s", l.Digest, c.Name)
			}
		}
	}
	if res, _ := s.GC(ctx, 0); res.Blobs != 0 {
		t.Errorf("second gc removed %d blobs", res.Blobs)
	}
}

func TestPutManifestTags(t *testing.T) {
	s, _ := registrytest.Store(t, []string{"base"}, 0)
	_, _, d, _ := s.Chain(registrytest.Repo, "base")
	raw, err := s.ReadBlob(d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutManifest(registrytest.Repo, "other", raw, store.ManifestMediaType); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutManifest(registrytest.Repo, "", raw, store.ManifestMediaType); err != nil { // by digest: listed already
		t.Fatal(err)
	}
	if _, err := s.PutManifest(registrytest.Repo, "x", []byte(`{"schemaVersion":2,"config":{"digest":"sha256:`+strings.Repeat("0", 64)+`","size":1}}`), store.ManifestMediaType); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("manifest with a missing blob: %v, want store.ErrNotFound", err)
	}
	tags, _ := s.Tags(registrytest.Repo)
	if diff := cmp.Diff([]string{"base", "other"}, tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	var idx struct{ Manifests []json.RawMessage }
	b, _ := os.ReadFile(filepath.Join(s.Dir(), "index.json"))
	if err := json.Unmarshal(b, &idx); err != nil || len(idx.Manifests) != 2 {
		t.Errorf("index.json has %d entries (%v), want 2", len(idx.Manifests), err)
	}
}

func TestDefaultStore(t *testing.T) {
	t.Setenv("MODE_STORE", "/x/store")
	if got := store.DefaultStore(); got != "/x/store" {
		t.Errorf("with MODE_STORE: %s", got)
	}
	t.Setenv("MODE_STORE", "")
	want := "/var/lib/mode/store"
	if os.Geteuid() != 0 {
		t.Setenv("XDG_DATA_HOME", "/x/data")
		want = "/x/data/mode/store"
	}
	if got := store.DefaultStore(); got != want {
		t.Errorf("store.DefaultStore() = %s, want %s", got, want)
	}
}
