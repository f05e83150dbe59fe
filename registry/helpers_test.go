package registry

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
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/squashfs"
)

// testChain builds squashfs layers for the modules names (base first) under
// a temp dir, adding extra random bytes (a file of that size) to the last one,
// and returns them as a chain's layers.
func testChain(t testing.TB, names []string, random int) []Layer {
	t.Helper()
	ctx := context.Background()
	out := t.TempDir()
	var ls []Layer
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
		ls = append(ls, Layer{Path: dst, Meta: meta})
	}
	return ls
}

// testStore returns a store holding the chains of names: base, base-…, up to all.
func testStore(t testing.TB, names []string, random int) (*Store, []Layer) {
	t.Helper()
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ls := testChain(t, names, random)
	for i := range ls {
		if _, err := s.AddChain(context.Background(), names[i], ls[:i+1]); err != nil {
			t.Fatal(err)
		}
	}
	return s, ls
}

// memRegistry starts go-containerregistry's in-memory registry and returns its host:port.
func memRegistry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// sameFile fails unless files a and b hold the same bytes.
func sameFile(t testing.TB, a, b string) {
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
