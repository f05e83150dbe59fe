package remote_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/serve"
)

func TestParseMirrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{in: "10.0.2.2:5001", want: []string{"10.0.2.2:5001"}},
		{in: "a.example:5000,b.example, [::1]:5002", want: []string{"a.example:5000", "b.example", "[::1]:5002"}},
		{in: "a:5000,,b", err: `mirror list "a:5000,,b": an empty host`},
		{in: "http://a:5000", err: `"http://a:5000" is not HOST[:PORT]`},
		{in: "a:5000/mode", err: `"a:5000/mode" is not HOST[:PORT]`},
		{in: "a:port", err: `mirror list "a:port": "a:port"`},
		{in: "", err: "an empty host"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := remote.ParseMirrors(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseMirrors(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseMirrors(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

// TestPullMirrors: the mirrors are tried in order before the reference's own
// registry; one down, or serving a tampered blob, is passed over.
func TestPullMirrors(t *testing.T) {
	ctx := context.Background()
	src, ls := registrytest.Store(t, []string{"base", "big"}, 256<<10)
	big := ls[1]
	origin := registrytest.Serve(t, src)
	_, m, _, _ := src.Chain(registrytest.Repo, "big")
	tampered, f := faultyServer(t, src, string(m.Layers[1].Digest))
	f.flip = true
	down := registrytest.FreeAddr(t)

	for _, tc := range []struct {
		name    string
		mirrors []string
	}{
		{"first down", []string{down}},
		{"first tampered", []string{tampered}},
		{"down, tampered", []string{down, tampered}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.gets = 0
			out := t.TempDir()
			if _, _, err := remote.Pull(ctx, origin+"/test:big", out, fast, remote.WithMirrors(tc.mirrors...)); err != nil {
				t.Fatal(err)
			}
			registrytest.SameFile(t, big.Path, filepath.Join(out, big.Meta.File))
			if gets, _ := f.stats(); strings.Contains(strings.Join(tc.mirrors, " "), tampered) && gets == 0 {
				t.Errorf("the tampered mirror was never asked for the blob")
			}
		})
	}
	t.Run("all down", func(t *testing.T) {
		_, _, err := remote.Pull(ctx, down+"/test:big", t.TempDir(), fast, remote.WithMirrors(registrytest.FreeAddr(t)))
		if !errors.Is(err, remote.ErrUnreachable) {
			t.Errorf("pull with every registry down: %v; want ErrUnreachable", err)
		}
	})
	t.Run("only tampered", func(t *testing.T) {
		_, _, err := remote.Pull(ctx, tampered+"/test:big", t.TempDir(), fast, remote.WithMirrors(down))
		if err == nil || errors.Is(err, remote.ErrUnreachable) || !strings.Contains(err.Error(), "tampered") {
			t.Errorf("pull of a tampered blob: %v; want a digest error, not ErrUnreachable", err)
		}
	})
	t.Run("no such chain", func(t *testing.T) {
		_, _, err := remote.Pull(ctx, origin+"/test:nosuch", t.TempDir(), fast, remote.WithMirrors(down))
		if err == nil || errors.Is(err, remote.ErrUnreachable) {
			t.Errorf("pull of a missing tag: %v; want an error, not ErrUnreachable", err)
		}
	})
}

// TestPullMirrorDiesPinned: the mirror resolves the tag and dies in the
// middle of a blob; the rest comes from the origin by digest, so the chain
// pulled is the mirror's, though the origin's tag names another one.
func TestPullMirrorDiesPinned(t *testing.T) {
	ctx := context.Background()
	names := []string{"base", "big"}
	mirrorStore, x := registrytest.Store(t, names, 512<<10)
	originStore, _ := registrytest.Store(t, names, 512<<10) // another "big"
	if _, err := originStore.AddChain(ctx, registrytest.Repo, "x", x); err != nil {
		t.Fatal(err)
	}
	origin := registrytest.Serve(t, originStore)
	_, m, _, _ := mirrorStore.Chain(registrytest.Repo, "big")
	blob := string(m.Layers[1].Digest)

	h := serve.New(mirrorStore).Handler()
	var srv *httptest.Server
	var once sync.Once
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/blobs/"+blob) {
			once.Do(func() { srv.Listener.Close() }) // killed: no connection after this one
			w = &faultyWriter{ResponseWriter: w, cut: true}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	mirror := strings.TrimPrefix(srv.URL, "http://")

	out := t.TempDir()
	_, d, err := remote.Pull(ctx, origin+"/test:big", out, fast, remote.WithMirrors(mirror))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, want, _ := mirrorStore.Chain(registrytest.Repo, "big"); d != want {
		t.Errorf("pulled %s; want the mirror's %s (the tag it resolved)", d, want)
	}
	registrytest.SameFile(t, x[1].Path, filepath.Join(out, x[1].Meta.File))
}
