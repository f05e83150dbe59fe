package remote_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/opencontainers/go-digest"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/store"
)

func TestPushPull(t *testing.T) {
	ctx := context.Background()
	s, ls := registrytest.Store(t, []string{"base", "mid", "top"}, 0)
	host := registrytest.MemRegistry(t)
	d, err := remote.Push(ctx, registrytest.Source(t, s, "top"), host+"/mode/chains")
	if err != nil {
		t.Fatal(err)
	}
	_, _, want, err := s.Chain(registrytest.Repo, "top")
	if err != nil {
		t.Fatal(err)
	}
	if d != want {
		t.Errorf("pushed digest %s, store has %s", d, want)
	}
	for _, ref := range []string{host + "/mode/chains:top", host + "/mode/chains@" + string(d)} {
		t.Run(ref, func(t *testing.T) {
			out := t.TempDir()
			s2, err := store.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			c, got, err := remote.Pull(ctx, ref, out, remote.WithStore(s2))
			if err != nil {
				t.Fatal(err)
			}
			if got != d || c.Name != "top" || len(c.Layers) != 3 {
				t.Fatalf("pulled %s %q with %d layers, want %s top with 3", got, c.Name, len(c.Layers), d)
			}
			for _, l := range ls {
				registrytest.SameFile(t, l.Path, filepath.Join(out, l.Meta.File))
			}
			if _, _, sd, err := s2.Chain("mode/chains", "top"); err != nil || sd != d {
				t.Errorf("store after pull: %s, %v; want %s", sd, err, d)
			}
		})
	}
}

// TestPushWithoutArtifactType: a registry that refuses artifactType gets the
// manifest without it, and Pull still knows it for a chain.
func TestPushWithoutArtifactType(t *testing.T) {
	ctx := context.Background()
	s, ls := registrytest.Store(t, []string{"base", "top"}, 0)
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
			body, _ := io.ReadAll(r.Body)
			if strings.Contains(string(body), `"artifactType"`) {
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"errors":[{"code":"MANIFEST_INVALID","message":"unknown field artifactType"}]}`)
				return
			}
			r.Body = io.NopCloser(strings.NewReader(string(body)))
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	d, err := remote.Push(ctx, registrytest.Source(t, s, "top"), host+"/old")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, sd, _ := s.Chain(registrytest.Repo, "top"); d == sd {
		t.Errorf("the manifest without artifactType has the store's digest %s", d)
	}
	out := t.TempDir()
	c, pd, err := remote.Pull(ctx, host+"/old:top", out)
	if err != nil {
		t.Fatal(err)
	}
	if pd != d || c.Name != "top" {
		t.Errorf("pulled %s %q, want %s top", pd, c.Name, d)
	}
	for _, l := range ls {
		registrytest.SameFile(t, l.Path, filepath.Join(out, l.Meta.File))
	}
}

func TestPullFilterAndStoreOnly(t *testing.T) {
	ctx := context.Background()
	src, ls := registrytest.Store(t, []string{"base", "mid", "top"}, 0)
	host := registrytest.Serve(t, src)
	t.Run("filter", func(t *testing.T) {
		s, err := store.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		out := t.TempDir()
		c, _, err := remote.Pull(ctx, host+"/test:top", out, remote.WithStore(s), remote.WithFilter(func(m string) bool { return m != "mid" }))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, l := range c.Layers {
			names = append(names, l.Name)
		}
		if strings.Join(names, ",") != "base,top" {
			t.Errorf("filtered chain lists %v, want base,top", names)
		}
		files, _ := filepath.Glob(filepath.Join(out, "*"))
		if len(files) != 2 {
			t.Errorf("filtered pull wrote %v", files)
		}
		storeEmpty(t, s)
	})
	t.Run("store only", func(t *testing.T) {
		s, err := store.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		_, d, err := remote.Pull(ctx, host+"/test:top", "", remote.WithStore(s))
		if err != nil {
			t.Fatal(err)
		}
		c, _, sd, err := s.Chain(registrytest.Repo, "top")
		if err != nil || sd != d {
			t.Fatalf("store has %s (%v), want %s", sd, err, d)
		}
		for i, l := range ls {
			registrytest.SameFile(t, l.Path, s.BlobPath(digest.Digest(c.Layers[i].Digest)))
		}
		if left, _ := os.ReadDir(filepath.Join(s.Dir(), ".tmp")); len(left) != 0 {
			t.Errorf("temporary files left: %v", left)
		}
		// A second pull into an output directory copies from the store.
		fhost, f := faultyServer(t, src, c.Layers[2].Digest)
		out := t.TempDir()
		if _, _, err := remote.Pull(ctx, fhost+"/test@"+string(d), out, remote.WithStore(s)); err != nil {
			t.Fatal(err)
		}
		if gets, _ := f.stats(); gets != 0 {
			t.Errorf("a layer in the store was downloaded %d times", gets)
		}
		for _, l := range ls {
			registrytest.SameFile(t, l.Path, filepath.Join(out, l.Meta.File))
		}
	})
}
