package remote_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/opencontainers/go-digest"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	ggcrremote "github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/mode-build/mode/registry/remote"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/registry/store"
)

var fast = remote.WithRetries(3, 5*time.Millisecond)

// storeEmpty fails unless store s holds no tag, and no blob but whole,
// verified ones: a failed pull keeps the layers it finished (each is added
// as soon as it is whole), never a part of one, a manifest or a tag.
func storeEmpty(t *testing.T, s *store.Store) {
	t.Helper()
	if repos, err := s.Repositories(); err != nil || len(repos) != 0 {
		t.Errorf("store repositories %v, %v; want none", repos, err)
	}
	dir := filepath.Join(s.Dir(), "blobs", "sha256")
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		d, _, err := store.FileDigest(filepath.Join(dir, e.Name()), digest.SHA256)
		if err != nil || d.Encoded() != e.Name() {
			t.Errorf("store blob %s: content %s, %v", e.Name(), d, err)
		}
	}
}

func TestPullResume(t *testing.T) {
	ctx := context.Background()
	src, ls := registrytest.Store(t, []string{"base", "big"}, 4<<20)
	big := ls[1]
	_, m, _, _ := src.Chain(registrytest.Repo, "big")
	host, f := faultyServer(t, src, string(m.Layers[1].Digest))

	t.Run("within one pull", func(t *testing.T) {
		f.cut, f.gets, f.ranges = 1, 0, nil
		out := t.TempDir()
		if _, _, err := remote.Pull(ctx, host+"/test:big", out, fast); err != nil {
			t.Fatal(err)
		}
		registrytest.SameFile(t, big.Path, filepath.Join(out, big.Meta.File))
		gets, ranges := f.stats()
		if gets != 2 || ranges[0] != "" || !strings.HasPrefix(ranges[1], "bytes=") || ranges[1] == "bytes=0-" {
			t.Errorf("blob GETs %d with ranges %q; want a whole GET, then one resuming Range", gets, ranges)
		}
	})
	t.Run("across pulls", func(t *testing.T) {
		f.cut, f.gets, f.ranges = 1, 0, nil
		out := t.TempDir()
		_, _, err := remote.Pull(ctx, host+"/test:big", out, remote.WithRetries(0, 0))
		if err == nil {
			t.Fatal("pull through a cut connection without retries succeeded")
		}
		if _, err := os.Stat(filepath.Join(out, big.Meta.File)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("interrupted pull left %s: %v", big.Meta.File, err)
		}
		if _, _, err := remote.Pull(ctx, host+"/test:big", out, fast); err != nil {
			t.Fatal(err)
		}
		registrytest.SameFile(t, big.Path, filepath.Join(out, big.Meta.File))
		_, ranges := f.stats()
		if len(ranges) != 2 || !strings.HasPrefix(ranges[1], "bytes=") {
			t.Errorf("ranges %q: the second pull did not resume", ranges)
		}
		left, _ := filepath.Glob(filepath.Join(out, ".*partial"))
		if len(left) != 0 {
			t.Errorf("partial files left: %v", left)
		}
	})
	t.Run("store only, across pulls", func(t *testing.T) {
		f.cut, f.gets, f.ranges = 1, 0, nil
		s, err := store.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := remote.Pull(ctx, host+"/test:big", "", remote.WithStore(s), remote.WithRetries(0, 0)); err == nil {
			t.Fatal("pull through a cut connection without retries succeeded")
		}
		storeEmpty(t, s)
		if _, _, err := remote.Pull(ctx, host+"/test:big", "", remote.WithStore(s), fast); err != nil {
			t.Fatal(err)
		}
		_, ranges := f.stats()
		if len(ranges) != 2 || !strings.HasPrefix(ranges[1], "bytes=") {
			t.Errorf("ranges %q: the second pull did not resume", ranges)
		}
		c, _, _, err := s.Chain(registrytest.Repo, "big")
		if err != nil {
			t.Fatal(err)
		}
		registrytest.SameFile(t, big.Path, s.BlobPath(digest.Digest(c.Layers[1].Digest)))
		if left, _ := os.ReadDir(filepath.Join(s.Dir(), ".tmp")); len(left) != 0 {
			t.Errorf("temporary files left: %v", left)
		}
	})
	t.Run("present layers are skipped", func(t *testing.T) {
		out := t.TempDir()
		if _, _, err := remote.Pull(ctx, host+"/test:big", out); err != nil {
			t.Fatal(err)
		}
		f.gets = 0
		if _, _, err := remote.Pull(ctx, host+"/test:big", out); err != nil {
			t.Fatal(err)
		}
		if gets, _ := f.stats(); gets != 0 {
			t.Errorf("second pull fetched the present layer %d times", gets)
		}
	})
}

func TestPullBadInput(t *testing.T) {
	ctx := context.Background()
	src, _ := registrytest.Store(t, []string{"base", "big"}, 1<<20)
	_, m, _, _ := src.Chain(registrytest.Repo, "big")
	layer := string(m.Layers[1].Digest)

	// A registry holding an ordinary container image.
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	imgHost := registrytest.MemRegistry(t)
	imgRef, err := name.ParseReference(imgHost+"/img:latest", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := ggcrremote.Write(imgRef, img); err != nil {
		t.Fatal(err)
	}
	oci := mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), types.OCIConfigJSON)
	ociRef, err := name.ParseReference(imgHost+"/oci:latest", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := ggcrremote.Write(ociRef, oci); err != nil {
		t.Fatal(err)
	}
	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downHost := ln.Addr().String()
	ln.Close()
	// A registry that wants credentials, with a docker config holding wrong ones.
	authHost := basicAuthRegistry(t, "mode", "right")
	dockerConfig(t, authHost, "mode", "wrong")

	tests := []struct {
		name   string
		ref    string
		faults func(f *faults)
		want   []string // substrings of the error
		is     error
	}{
		{"unknown tag", "/test:nope", nil, []string{"MANIFEST_UNKNOWN"}, nil},
		{"unknown digest", "/test@sha256:" + strings.Repeat("1", 64), nil, []string{"MANIFEST_UNKNOWN"}, nil},
		{"docker image", "IMG/img:latest", nil, []string{"not a mode chain", "application/vnd.docker.distribution.manifest.v2+json"}, store.ErrNotChain},
		{"OCI image", "IMG/oci:latest", nil, []string{"not a mode chain", "config media type", "application/vnd.oci.image.config.v1+json"}, store.ErrNotChain},
		{"registry down", "DOWN/test:big", nil, []string{"giving up after 4 tries", "connection refused"}, nil},
		{"registry failing", "/test:big", func(f *faults) { f.down = 100 }, []string{"giving up after 4 tries", "503"}, nil},
		{"wrong credentials", "AUTH/m:big", nil, []string{"401", "UNAUTHORIZED"}, nil},
		{"digest mismatch", "/test:big", func(f *faults) { f.flip = true }, []string{"digest mismatch", layer, "tampered"}, store.ErrDigest},
		// A connection cut after half of what it sends makes progress each
		// try: that pull completes (TestPullFlakyLink); one cut before the
		// blob's first byte gives up (TestPullDeadLinkGivesUp).
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, f := faultyServer(t, src, layer)
			if tt.faults != nil {
				tt.faults(f)
			}
			ref := host + tt.ref
			for k, v := range map[string]string{"IMG": imgHost, "DOWN": downHost, "AUTH": authHost} {
				if strings.HasPrefix(tt.ref, k) {
					ref = v + strings.TrimPrefix(tt.ref, k)
				}
			}
			s, err := store.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			_, _, err = remote.Pull(ctx, ref, out, remote.WithStore(s), fast)
			if err == nil {
				t.Fatal("pull succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			storeEmpty(t, s)
			if sq, _ := filepath.Glob(filepath.Join(out, "*.sqfs")); len(sq) == 2 {
				t.Errorf("failed pull wrote every layer: %v", sq)
			}
			if tt.name == "digest mismatch" {
				if left, _ := filepath.Glob(filepath.Join(out, ".*"+layer[7:23]+".partial")); len(left) != 0 {
					t.Errorf("tampered blob left %v", left)
				}
			}
		})
	}
	t.Run("right credentials", func(t *testing.T) {
		dockerConfig(t, authHost, "mode", "right")
		if _, err := remote.Push(ctx, registrytest.Source(t, src, "big"), authHost+"/test"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := remote.Pull(ctx, authHost+"/test:big", t.TempDir()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("flaky registry", func(t *testing.T) {
		host, f := faultyServer(t, src, layer)
		f.down = 2
		if _, _, err := remote.Pull(ctx, host+"/test:big", t.TempDir(), fast); err != nil {
			t.Fatalf("pull through two 503s: %v", err)
		}
	})
}

// basicAuthRegistry serves an in-memory registry that wants user:pass.
func basicAuthRegistry(t testing.TB, user, pass string) string {
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != want {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// dockerConfig points DOCKER_CONFIG at a config with user:pass for host.
func dockerConfig(t *testing.T, host, user, pass string) {
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
}
