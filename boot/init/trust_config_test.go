package modeinit

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/store"
)

// TestChainConfig reads a chain's config through its manifest digest, and
// refuses a config the registry swapped (same length, other bytes): the
// verity root hashes in it are only as good as that check.
func TestChainConfig(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	layer := filepath.Join(t.TempDir(), "base.sqfs")
	os.WriteFile(layer, []byte("layer bytes"), 0o644)
	if _, err := s.AddChain(ctx, "tiny", "base", []store.Layer{{Path: layer, Meta: layers.Meta{Name: "base"}}}); err != nil {
		t.Fatal(err)
	}
	_, m, _, err := s.Chain("tiny", "base")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := s.ReadBlob(m.Config.Digest)
	swap := false
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if swap && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+string(m.Config.Digest)) {
			w.Write(bytes.Replace(cfg, []byte(`"base"`), []byte(`"evil"`), 1))
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	src, err := s.Source("tiny", "base")
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Push(ctx, src, host+"/tiny:base")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewDigest(host+"/tiny@"+string(d), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	c, err := chainConfig(ctx, ref)
	if err != nil || len(c.Layers) != 1 || c.Layers[0].File != "base.sqfs" {
		t.Fatalf("chainConfig: %+v, %v", c, err)
	}
	swap = true
	if _, err := chainConfig(ctx, ref); err == nil || !strings.Contains(err.Error(), "chain config "+string(m.Config.Digest)) {
		t.Errorf("a swapped config: %v", err)
	}
}
