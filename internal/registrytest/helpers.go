package registrytest

import (
	"context"
	"crypto/rand"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/squashfs"
)

// Chain builds squashfs layers for the modules names (base first) under
// a temp dir, adding extra random bytes (a file of that size) to the last one,
// and returns them as a chain's layers.
func Chain(t testing.TB, names []string, random int) []store.Layer {
	t.Helper()
	testutil.RequiresTools(t, "mksquashfs")
	ctx := context.Background()
	out := t.TempDir()
	var ls []store.Layer
	for i, n := range names {
		src := t.TempDir()
		if err := os.WriteFile(filepath.Join(src, n+".txt"), []byte("module "+n+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if i == len(names)-1 && random > 0 {
			b := make([]byte, random)
			rand.Read(b)
			if err := os.WriteFile(filepath.Join(src, "random.bin"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		chain := names[:i+1]
		file := strings.Join(chain, "-") + ".sqfs"
		dst := filepath.Join(out, file)
		if err := squashfs.Squash(ctx, src, dst, "gzip"); err != nil {
			t.Fatal(err)
		}
		meta := layers.Meta{Name: n, Chain: append([]string(nil), chain...), File: file, Compression: "gzip"}
		if i > 0 {
			meta.Parent = names[i-1]
		}
		ls = append(ls, store.Layer{Path: dst, Meta: meta})
	}
	return ls
}

// Repo is the repository Store puts its chains in.
const Repo = "test"

// Store returns a store holding the chains of names (base, base-…, up to
// all) in the repository Repo.
func Store(t testing.TB, names []string, random int) (*store.Store, []store.Layer) {
	t.Helper()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ls := Chain(t, names, random)
	for i := range ls {
		if _, err := s.AddChain(context.Background(), Repo, names[i], ls[:i+1]); err != nil {
			t.Fatal(err)
		}
	}
	return s, ls
}

// MemRegistry starts go-containerregistry's in-memory registry and returns its host:port.
func MemRegistry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// SameFile fails unless files a and b hold the same bytes.
func SameFile(t testing.TB, a, b string) {
	t.Helper()
	da, _, err := layers.FileDigest(a)
	if err != nil {
		t.Fatal(err)
	}
	db, _, err := layers.FileDigest(b)
	if err != nil {
		t.Fatal(err)
	}
	if da != db {
		t.Errorf("%s (%s) and %s (%s) differ", a, da, b, db)
	}
}

// Serve serves s with mode serve's handler on loopback for the test and
// returns its host:port.
func Serve(t testing.TB, s *store.Store, opts ...serve.Option) string {
	t.Helper()
	srv := httptest.NewServer(serve.New(s, opts...).Handler())
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Source returns the chain tagged chain in Repo of s, to push.
func Source(t testing.TB, s *store.Store, chain string) *store.Stored {
	t.Helper()
	src, err := s.Source(Repo, chain)
	if err != nil {
		t.Fatal(err)
	}
	return src
}
