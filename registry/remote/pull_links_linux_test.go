package remote_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/store"
)

// states records the final state of each layer of a pull.
type states struct {
	mu sync.Mutex
	m  map[string]remote.State
}

func (s *states) event(e remote.Event) {
	if e.State.Final() && e.Name != "config" {
		s.mu.Lock()
		s.m[e.Name] = e.State
		s.mu.Unlock()
	}
}

func (s *states) all(want remote.State) bool {
	for _, st := range s.m {
		if st != want {
			return false
		}
	}
	return len(s.m) > 0
}

// sameInode reports whether the out file and blob d are one inode, and
// checks that both hold blob d's bytes.
func sameInode(t *testing.T, s *store.Store, out string, d digest.Digest) bool {
	t.Helper()
	for _, p := range []string{out, s.BlobPath(d)} {
		if got, _, err := store.FileDigest(p, d.Algorithm()); err != nil || got != d {
			t.Errorf("%s holds %s, %v; want %s", p, got, err, d)
		}
	}
	a, err1 := os.Stat(out)
	b, err2 := os.Stat(s.BlobPath(d))
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// TestPullLinks: pull --out makes each out file and its store blob one
// inode (downloaded once, written once); a second pull links the store's
// blobs out without a download; a store-only pull of a chain the store has
// writes nothing; an out directory on another file system gets copies.
func TestPullLinks(t *testing.T) {
	ctx := context.Background()
	src, _ := registrytest.Store(t, []string{"base", "top"}, 1<<20)
	_, m, _, err := src.Chain(registrytest.Repo, "top")
	if err != nil {
		t.Fatal(err)
	}
	host, f := faultyServer(t, src, string(m.Layers[1].Digest))
	ref := host + "/" + registrytest.Repo + ":top"
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pull := func(out string, want remote.State) {
		t.Helper()
		st := &states{m: map[string]remote.State{}}
		if _, _, err := remote.Pull(ctx, ref, out, remote.WithStore(s), remote.WithProgress(st.event), fast); err != nil {
			t.Fatal(err)
		}
		if !st.all(want) {
			t.Errorf("pull into %q: layer states %v, want all %s", out, st.m, want)
		}
	}

	out := t.TempDir()
	pull(out, remote.Pulled)
	for _, l := range m.Layers {
		p := filepath.Join(out, l.Annotations[store.AnnotationTitle])
		if !sameInode(t, s, p, l.Digest) {
			t.Errorf("%s: the out file and the store's blob are two inodes", p)
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, want 0644", p, fi.Mode().Perm())
		}
	}

	f.gets = 0
	again := t.TempDir()
	pull(again, remote.FromStore)
	for _, l := range m.Layers {
		if p := filepath.Join(again, l.Annotations[store.AnnotationTitle]); !sameInode(t, s, p, l.Digest) {
			t.Errorf("%s: not linked to the store's blob", p)
		}
	}
	pull("", remote.FromStore)
	if gets, _ := f.stats(); gets != 0 {
		t.Errorf("pulls of a chain the store has downloaded the layer %d times", gets)
	}
	if es, _ := os.ReadDir(s.TempDir()); len(es) != 0 {
		t.Errorf("the store's temporary directory holds %d entries", len(es))
	}

	// Another file system: copies, every one verified.
	testutil.RequiresRoot(t)
	fs := t.TempDir()
	if err := unix.Mount("tmpfs", fs, "tmpfs", 0, "size=16m"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := unix.Unmount(fs, 0); err != nil {
			t.Errorf("unmount %s: %v", fs, err)
		}
	}()
	pull(fs, remote.FromStore)
	for _, l := range m.Layers {
		if p := filepath.Join(fs, l.Annotations[store.AnnotationTitle]); sameInode(t, s, p, l.Digest) {
			t.Errorf("%s on a tmpfs and the store's blob are one inode", p)
		}
	}
	fresh, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s = fresh
	tmp := filepath.Join(fs, "fresh")
	pull(tmp, remote.Pulled)
	for _, l := range m.Layers {
		if p := filepath.Join(tmp, l.Annotations[store.AnnotationTitle]); sameInode(t, s, p, l.Digest) {
			t.Errorf("%s on a tmpfs and the store's blob are one inode", p)
		}
	}
}
