package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/registry/store"
)

// TestRepositories: two repositories in one store hold their own tags over
// shared blobs; deleting in one leaves the other whole; gc then frees
// exactly the blobs nothing references any more.
func TestRepositories(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ls := registrytest.Chain(t, []string{"base", "top"}, 1024)
	for _, repo := range []string{"team/a", "team/b"} {
		for i, name := range []string{"base", "top"} {
			if _, err := s.AddChain(ctx, repo, name, ls[:i+1]); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A chain only team/b has, then the same tag re-pointed in team/a: b's tag stays.
	other := registrytest.Chain(t, []string{"base", "top"}, 2048)
	_, _, bTop, _ := s.Chain("team/b", "top")
	if _, err := s.AddChain(ctx, "team/a", "top", []store.Layer{ls[0], other[1]}); err != nil {
		t.Fatal(err)
	}
	if _, _, got, _ := s.Chain("team/b", "top"); got != bTop {
		t.Errorf("pushing team/a:top changed team/b:top: %s, was %s", got, bTop)
	}
	repos, _ := s.Repositories()
	if diff := cmp.Diff([]string{"team/a", "team/b"}, repos); diff != "" {
		t.Errorf("repositories (-want +got):\n%s", diff)
	}
	if _, err := s.Tags("team/c"); err == nil {
		t.Error("tags of an empty repository: no error")
	}
	if _, err := s.Resolve("team/c", "top"); err == nil {
		t.Error("resolve in an empty repository: no error")
	}

	// Delete team/b's tags: their manifests stay untagged until deleted too.
	_, bm, bd, _ := s.Chain("team/b", "top")
	for _, tag := range []string{"base", "top"} {
		if err := s.DeleteTag("team/b", tag); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteTag("team/b", "top"); err == nil {
		t.Error("deleting a deleted tag: no error")
	}
	if _, err := s.Resolve("team/b", string(bd)); err != nil {
		t.Errorf("the untagged manifest: %v", err)
	}
	if err := s.DeleteManifest("team/b", bd); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Resolve("team/b", string(bd)); err == nil {
		t.Error("a deleted manifest still resolves")
	}
	// team/a's top uses the shared base layer, which must stay.
	_, am, _, err := s.Chain("team/a", "top")
	if err != nil {
		t.Fatal(err)
	}
	if !s.HasBlob(am.Layers[0].Digest, -1) {
		t.Fatal("the shared base blob went with team/b's tags")
	}

	// gc frees exactly the blobs that no manifest of any repository references.
	live := map[digest.Digest]bool{}
	idx, _ := s.Index()
	for _, e := range idx.Manifests {
		markLive(t, s, e.Digest, live)
	}
	all := blobs(t, s)
	var want []digest.Digest
	for _, d := range all {
		if !live[d] {
			want = append(want, d)
		}
	}
	if len(want) == 0 {
		t.Fatal("the deletes left no garbage to collect")
	}
	if !containsAll(want, bd, bm.Layers[1].Digest) {
		t.Errorf("garbage %v lacks team/b's top manifest or layer", want)
	}
	kept, err := s.GC(ctx, store.DefaultGrace)
	if err != nil || kept.Blobs != 0 || kept.Kept != len(want) {
		t.Errorf("gc within the grace period: %+v, %v; want nothing removed, %d kept", kept, err, len(want))
	}
	res, err := s.GC(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Blobs != len(want) {
		t.Errorf("gc removed %d blobs, want %d", res.Blobs, len(want))
	}
	for _, d := range all {
		if s.HasBlob(d, -1) != live[d] {
			t.Errorf("after gc: blob %s present %v, referenced %v", d, s.HasBlob(d, -1), live[d])
		}
	}
	for _, tag := range []string{"base", "top"} {
		if _, _, _, err := s.Chain("team/a", tag); err != nil {
			t.Errorf("team/a:%s after gc: %v", tag, err)
		}
	}
}

func markLive(t *testing.T, s *store.Store, d digest.Digest, live map[digest.Digest]bool) {
	live[d] = true
	_, m, _, err := s.Chain("team/a", string(d))
	if err != nil {
		return
	}
	live[m.Config.Digest] = true
	for _, l := range m.Layers {
		live[l.Digest] = true
	}
	if p := m.Annotations[store.AnnotationParent]; p != "" {
		markLive(t, s, digest.Digest(p), live)
	}
}

func blobs(t *testing.T, s *store.Store) []digest.Digest {
	ents, err := os.ReadDir(filepath.Join(s.Dir(), "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	var ds []digest.Digest
	for _, e := range ents {
		ds = append(ds, digest.NewDigestFromEncoded(digest.SHA256, e.Name()))
	}
	return ds
}

func containsAll(ds []digest.Digest, want ...digest.Digest) bool {
	for _, w := range want {
		found := false
		for _, d := range ds {
			found = found || d == w
		}
		if !found {
			return false
		}
	}
	return true
}

// TestMigrate opens a store written before repositories: its tags move to
// the repository "mode", with ref names crane, oras and skopeo read.
func TestMigrate(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ls := registrytest.Chain(t, []string{"base"}, 0)
	d, err := s.AddChain(context.Background(), "x", "base", ls)
	if err != nil {
		t.Fatal(err)
	}
	// What the single-repository store wrote: a bare tag, no repository.
	b, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	old := strings.ReplaceAll(string(b), `"x:base"`, `"base"`)
	old = strings.ReplaceAll(old, `"dev.mode.repository": "x",`, ``)
	old = strings.ReplaceAll(old, `,
        "dev.mode.repository": "x"`, ``)
	if strings.Contains(old, "dev.mode.repository") {
		t.Fatalf("could not make an old index.json:\n%s", old)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err = store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, got, err := s.Chain(store.DefaultRepository, "base"); err != nil || got != d {
		t.Errorf("after migration: %s, %v; want %s in %s", got, err, d, store.DefaultRepository)
	}
	b, _ = os.ReadFile(filepath.Join(dir, "index.json"))
	if !strings.Contains(string(b), `"org.opencontainers.image.ref.name": "mode:base"`) {
		t.Errorf("migrated index.json:\n%s", b)
	}
	if repo, ref, err := s.Find("base"); err != nil || repo != "mode" || ref != "base" {
		t.Errorf("Find(base) = %s, %s, %v", repo, ref, err)
	}
}

// TestSHA512 stores, reads and collects a sha512 blob.
func TestSHA512(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d := digest.SHA512.FromString("sha512 content")
	if _, err := s.PutBlob(strings.NewReader("other content"), d); err == nil {
		t.Error("a blob that does not match its sha512 was stored")
	}
	got, err := s.PutBlob(strings.NewReader("sha512 content"), d)
	if err != nil || got != d {
		t.Fatalf("PutBlob: %s, %v", got, err)
	}
	if b, err := s.ReadBlob(d); err != nil || string(b) != "sha512 content" {
		t.Errorf("ReadBlob: %q, %v", b, err)
	}
	if !strings.Contains(s.BlobPath(d), filepath.Join("blobs", "sha512")) {
		t.Errorf("sha512 blob at %s", s.BlobPath(d))
	}
	if res, err := s.GC(context.Background(), 0); err != nil || res.Blobs != 1 || s.HasBlob(d, -1) {
		t.Errorf("gc of an unreferenced sha512 blob: %+v, %v", res, err)
	}
}
