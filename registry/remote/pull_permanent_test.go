package remote_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// shortBlob serves store s, but the blob d only up to half its length, as
// a registry holding a truncated copy does (with a correct Content-Length
// and Range support). It counts the GETs of d.
type shortBlob struct {
	h    http.Handler
	path string // the blob's file
	d    string
	mu   sync.Mutex
	gets int
}

func (b *shortBlob) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+b.d) {
		b.h.ServeHTTP(w, r)
		return
	}
	b.mu.Lock()
	b.gets++
	b.mu.Unlock()
	data, err := os.ReadFile(b.path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data[:len(data)/2]))
}

// TestPullPermanentErrors: a blob the registry holds truncated fails at
// once, naming the blob, without retries; so does a layer whose content
// fails its digest.
func TestPullPermanentErrors(t *testing.T) {
	ctx := context.Background()
	src, _ := registrytest.Store(t, []string{"base", "big"}, 1<<20)
	_, m, _, _ := src.Chain(registrytest.Repo, "big")
	layer := m.Layers[1].Digest
	sb := &shortBlob{h: serve.New(src).Handler(), path: src.BlobPath(layer), d: layer.String()}
	srv := httptest.NewServer(sb)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	for _, resume := range []bool{false, true} {
		sb.gets = 0
		out := t.TempDir()
		if resume { // an earlier pull left a partial of a quarter: Range from there
			file := m.Layers[1].Annotations[store.AnnotationTitle]
			data, err := os.ReadFile(src.BlobPath(layer))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(out, "."+file+"."+m.Layers[1].Digest.Encoded()[:16]+".partial"), data[:len(data)*3/4], 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, _, err := remote.Pull(ctx, host+"/test:big", out, remote.WithRetries(5, 5*time.Millisecond))
		if err == nil || !strings.Contains(err.Error(), layer.String()) || !errors.Is(err, store.ErrDigest) {
			t.Fatalf("resume %v: pull of a truncated blob: %v; want ErrDigest naming %s", resume, err, layer)
		}
		if strings.Contains(err.Error(), "giving up") || sb.gets != 1 {
			t.Errorf("resume %v: %d GETs of the blob (%v); want one, no retries", resume, sb.gets, err)
		}
		// The bad blob's partial is gone; the other layer's, cut short when
		// the pull stopped, may stay for the next pull to resume.
		file := m.Layers[1].Annotations[store.AnnotationTitle]
		if left, _ := filepath.Glob(filepath.Join(out, "."+file+".*partial")); len(left) != 0 {
			t.Errorf("resume %v: partial of the bad blob left: %v", resume, left)
		}
	}
}

// TestPullCorruptPartial: a partial download that an earlier pull left and
// that was corrupted since is discarded and the blob fetched again, not
// blamed on the registry.
func TestPullCorruptPartial(t *testing.T) {
	ctx := context.Background()
	src, ls := registrytest.Store(t, []string{"base", "big"}, 1<<20)
	big := ls[1]
	_, m, _, _ := src.Chain(registrytest.Repo, "big")
	host, f := faultyServer(t, src, m.Layers[1].Digest.String())
	out := t.TempDir()
	f.cut = 1
	if _, _, err := remote.Pull(ctx, host+"/test:big", out, remote.WithRetries(0, 0)); err == nil {
		t.Fatal("pull through a cut connection without retries succeeded")
	}
	part := filepath.Join(out, "."+big.Meta.File+"."+m.Layers[1].Digest.Encoded()[:16]+".partial")
	b, err := os.ReadFile(part)
	if err != nil || len(b) < 100 {
		t.Fatalf("partial of %d bytes: %v", len(b), err)
	}
	b[50] ^= 0xff
	if err := os.WriteFile(part, b, 0o644); err != nil {
		t.Fatal(err)
	}
	f.gets, f.ranges = 0, nil
	if _, _, err := remote.Pull(ctx, host+"/test:big", out, remote.WithRetries(0, 0)); err != nil {
		t.Fatalf("pull over a corrupt partial: %v", err)
	}
	registrytest.SameFile(t, big.Path, filepath.Join(out, big.Meta.File))
	if gets, ranges := f.stats(); gets != 2 || !strings.HasPrefix(ranges[0], "bytes=") || ranges[1] != "" {
		t.Errorf("blob GETs %d with ranges %q; want the resuming Range, then one whole GET", gets, ranges)
	}
}
