package serve_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

func TestServeRoundTrip(t *testing.T) {
	ctx := context.Background()
	src, ls := registrytest.Store(t, []string{"base", "top"}, 1<<20)
	dst, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	host := registrytest.Serve(t, dst, serve.WithPushToken("s3cret"))

	t.Run("push without token", func(t *testing.T) {
		_, err := remote.Push(ctx, registrytest.Source(t, src, "top"), host+"/mode", remote.WithAuth(authn.Anonymous), remote.WithRetries(0, 0))
		var te *transport.Error
		if !errors.As(err, &te) || te.StatusCode != http.StatusUnauthorized {
			t.Fatalf("push without token: %v, want 401", err)
		}
	})
	t.Run("push with wrong token", func(t *testing.T) {
		_, err := remote.Push(ctx, registrytest.Source(t, src, "top"), host+"/mode", remote.WithAuth(&authn.Bearer{Token: "nope"}), remote.WithRetries(0, 0))
		if err == nil || !strings.Contains(err.Error(), "wrong push token") {
			t.Fatalf("push with wrong token: %v, want a wrong push token error", err)
		}
	})
	d, err := remote.Push(ctx, registrytest.Source(t, src, "top"), host+"/mode", remote.WithAuth(&authn.Bearer{Token: "s3cret"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, sd, err := dst.Chain("mode", "top"); err != nil || sd != d {
		t.Fatalf("served store after push: %s, %v; want %s", sd, err, d)
	}
	out := t.TempDir()
	c, pd, err := remote.Pull(ctx, host+"/mode:top", out)
	if err != nil {
		t.Fatal(err)
	}
	if pd != d || len(c.Layers) != 2 {
		t.Fatalf("pulled %s with %d layers, want %s with 2", pd, len(c.Layers), d)
	}
	for _, l := range ls {
		registrytest.SameFile(t, l.Path, filepath.Join(out, l.Meta.File))
	}
}

func TestServeHTTP(t *testing.T) {
	s, _ := registrytest.Store(t, []string{"base"}, 64<<10)
	boot := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "kernel") })
	host := registrytest.Serve(t, s, serve.WithHandler("/boot/", boot))
	_, m, md, err := s.Chain(registrytest.Repo, "base")
	if err != nil {
		t.Fatal(err)
	}
	ld := string(m.Layers[0].Digest)
	mds := string(md)
	size := m.Layers[0].Size
	etag := `"` + ld + `"`
	tests := []struct {
		name, method, path string
		hdr                map[string]string
		status             int
		wantHdr            map[string]string
		bodyLen            int64
	}{
		{"ping", "GET", "/v2/", nil, 200, nil, -1},
		{"manifest by tag", "GET", "/v2/test/manifests/base", nil, 200, map[string]string{"Docker-Content-Digest": mds, "Content-Type": store.ManifestMediaType}, -1},
		{"manifest head by digest", "HEAD", "/v2/test/manifests/" + mds, nil, 200, map[string]string{"Docker-Content-Digest": mds}, 0},
		{"unknown tag", "GET", "/v2/test/manifests/nope", nil, 404, nil, -1},
		{"blob", "GET", "/v2/test/blobs/" + ld, nil, 200, map[string]string{"ETag": etag, "Content-Length": fmt.Sprint(size)}, size},
		{"blob head", "HEAD", "/v2/test/blobs/" + ld, nil, 200, map[string]string{"Content-Length": fmt.Sprint(size)}, 0},
		{"blob range", "GET", "/v2/test/blobs/" + ld, map[string]string{"Range": "bytes=100-"}, 206, map[string]string{"Content-Range": fmt.Sprintf("bytes 100-%d/%d", size-1, size)}, size - 100},
		{"blob etag", "GET", "/v2/test/blobs/" + ld, map[string]string{"If-None-Match": etag}, 304, nil, 0},
		{"unknown blob", "GET", "/v2/test/blobs/sha256:" + strings.Repeat("0", 64), nil, 404, nil, -1},
		{"bad digest", "GET", "/v2/test/blobs/sha256:zz", nil, 400, nil, -1},
		{"tags", "GET", "/v2/test/tags/list", nil, 200, nil, -1},
		{"referrers", "GET", "/v2/test/referrers/" + mds, nil, 200, map[string]string{"Content-Type": store.IndexMediaType}, -1},
		{"push refused", "POST", "/v2/test/blobs/uploads/", nil, 401, nil, -1},
		{"bad name", "GET", "/v2/Test/manifests/base", nil, 400, nil, -1},
		{"extra handler", "GET", "/boot/vmlinuz", nil, 200, nil, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, "http://"+host+tt.path, nil)
			for k, v := range tt.hdr {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			for k, v := range tt.wantHdr {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if tt.bodyLen >= 0 && int64(len(body)) != tt.bodyLen {
				t.Errorf("body %d bytes, want %d", len(body), tt.bodyLen)
			}
		})
	}
}

func TestReferrers(t *testing.T) {
	s, _ := registrytest.Store(t, []string{"base"}, 0)
	_, m, md, err := s.Chain(registrytest.Repo, "base")
	if err != nil {
		t.Fatal(err)
	}
	// A signature-like artifact about the chain: an untagged manifest with a subject.
	ref := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"artifactType":"application/x.test.sig",`+
		`"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":%q,"size":%d},"layers":[],`+
		`"subject":{"mediaType":%q,"digest":%q,"size":1},"annotations":{"k":"v"}}`,
		store.ManifestMediaType, m.Config.Digest, m.Config.Size, store.ManifestMediaType, md)
	rd, err := s.PutManifest(registrytest.Repo, "", []byte(ref), store.ManifestMediaType)
	if err != nil {
		t.Fatal(err)
	}
	host := registrytest.Serve(t, s)
	tests := []struct {
		query string
		want  int
	}{
		{"", 1},
		{"?artifactType=application/x.test.sig", 1},
		{"?artifactType=application/x.other", 0},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			resp, err := http.Get("http://" + host + "/v2/test/referrers/" + string(md) + tt.query)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var idx struct {
				Manifests []struct {
					Digest, ArtifactType string
					Annotations          map[string]string
				}
			}
			if err := json.NewDecoder(resp.Body).Decode(&idx); err != nil {
				t.Fatal(err)
			}
			if len(idx.Manifests) != tt.want {
				t.Fatalf("%d referrers, want %d", len(idx.Manifests), tt.want)
			}
			if tt.want == 1 {
				got := idx.Manifests[0]
				if got.Digest != string(rd) || got.ArtifactType != "application/x.test.sig" || got.Annotations["k"] != "v" {
					t.Errorf("referrer %+v, want %s", got, rd)
				}
			}
		})
	}
	if tags, _ := s.Tags(registrytest.Repo); len(tags) != 1 {
		t.Errorf("an untagged manifest made tags %v", tags)
	}
	if res, _ := s.GC(context.Background(), 0); res.Blobs != 0 {
		t.Errorf("gc removed %d blobs; the untagged referrer is listed in index.json", res.Blobs)
	}
}
