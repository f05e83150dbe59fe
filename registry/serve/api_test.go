package serve_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// client sends requests with the push token to the server at base.
type client struct {
	t    *testing.T
	base string
}

func (c client) do(method, path, body string, hdr ...string) (*http.Response, string) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer tok")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (c client) expect(status int, method, path, body string, hdr ...string) (*http.Response, string) {
	c.t.Helper()
	resp, b := c.do(method, path, body, hdr...)
	if resp.StatusCode != status {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, status, b)
	}
	return resp, b
}

// push uploads content as a blob and a manifest with it as config, tagged tag in repo.
func (c client) push(repo, tag, content string) (manifest, blob digest.Digest) {
	c.t.Helper()
	blob = digest.FromString(content)
	c.expect(http.StatusCreated, "POST", "/v2/"+repo+"/blobs/uploads/?digest="+string(blob), content)
	m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/x.test","digest":%q,"size":%d},"layers":[]}`,
		store.ManifestMediaType, blob, len(content))
	c.expect(http.StatusCreated, "PUT", "/v2/"+repo+"/manifests/"+tag, m, "Content-Type", store.ManifestMediaType)
	return digest.FromString(m), blob
}

// TestServeRepositories: repositories are separate, deletes work with the
// push token only, catalog and tags list paginate with Link.
func TestServeRepositories(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := client{t, "http://" + registrytest.Serve(t, s, serve.WithPushToken("tok"))}
	am, shared := c.push("test/img", "v1", "shared config")
	c.push("b/y", "v1", "shared config")
	_, body := c.expect(200, "GET", "/v2/test/img/manifests/v1", "")
	if digest.FromString(body) != am {
		t.Errorf("pushing b/y:v1 re-pointed test/img:v1")
	}
	_, body = c.expect(404, "GET", "/v2/never/pushed/tags/list", "")
	if !strings.Contains(body, "NAME_UNKNOWN") {
		t.Errorf("tags of an empty repository: %s", body)
	}
	_, body = c.expect(404, "GET", "/v2/never/pushed/manifests/v1", "")
	if !strings.Contains(body, "NAME_UNKNOWN") {
		t.Errorf("manifest of an empty repository: %s", body)
	}
	// A reference no tag could be is looked up, not refused.
	c.expect(404, "GET", "/v2/test/img/manifests/.INVALID_MANIFEST_NAME", "")
	c.expect(400, "GET", "/v2/test/img/manifests/sha256:totallywrong", "")

	for i := 0; i < 5; i++ {
		c.push("test/img", fmt.Sprintf("t%d", i), "shared config")
	}
	resp, body := c.expect(200, "GET", "/v2/test/img/tags/list?n=2&last=t0", "")
	if !strings.Contains(body, `"tags":["t1","t2"]`) || resp.Header.Get("Link") != `</v2/test/img/tags/list?last=t2&n=2>; rel="next"` {
		t.Errorf("tags page: %s, Link %q", body, resp.Header.Get("Link"))
	}
	resp, body = c.expect(200, "GET", "/v2/test/img/tags/list?n=10&last=t3", "")
	if !strings.Contains(body, `"tags":["t4","v1"]`) || resp.Header.Get("Link") != "" {
		t.Errorf("last tags page: %s, Link %q", body, resp.Header.Get("Link"))
	}
	resp, body = c.expect(200, "GET", "/v2/_catalog?n=1", "")
	if body != `{"repositories":["b/y"]}` || resp.Header.Get("Link") != `</v2/_catalog?last=b%2Fy&n=1>; rel="next"` {
		t.Errorf("catalog page: %s, Link %q", body, resp.Header.Get("Link"))
	}
	_, body = c.expect(200, "GET", "/v2/_catalog?last=b%2Fy", "")
	if body != `{"repositories":["test/img"]}` {
		t.Errorf("catalog after b/y: %s", body)
	}
	c.expect(400, "GET", "/v2/_catalog?n=x", "")

	// Deletes need the token.
	req, _ := http.NewRequest("DELETE", c.base+"/v2/b/y/manifests/v1", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous delete: %v %v", resp.StatusCode, err)
	}
	c.expect(202, "DELETE", "/v2/b/y/manifests/v1", "")
	c.expect(404, "DELETE", "/v2/b/y/manifests/v1", "")
	c.expect(200, "GET", "/v2/test/img/manifests/v1", "")
	c.expect(200, "GET", "/v2/b/y/blobs/"+string(shared), "")
	c.expect(202, "DELETE", "/v2/test/img/manifests/"+string(am), "")
	c.expect(404, "GET", "/v2/test/img/manifests/v1", "") // the tag went with it
	c.expect(202, "DELETE", "/v2/test/img/blobs/"+string(shared), "")
	c.expect(404, "GET", "/v2/test/img/blobs/"+string(shared), "")
	c.expect(404, "DELETE", "/v2/test/img/blobs/"+string(shared), "")

	// sha512 blobs, monolithic and chunked.
	d512 := digest.SHA512.FromString("sha512 blob")
	c.expect(201, "POST", "/v2/test/img/blobs/uploads/?digest="+string(d512), "sha512 blob")
	resp, _ = c.expect(202, "POST", "/v2/test/img/blobs/uploads/", "")
	loc := resp.Header.Get("Location")
	c.expect(202, "PATCH", loc, "sha512 ", "Content-Range", "0-6")
	d2 := digest.SHA512.FromString("sha512 chunks")
	c.expect(201, "PUT", loc+"?digest="+string(d2), "chunks")
	_, body = c.expect(200, "GET", "/v2/x/blobs/"+string(d2), "")
	if body != "sha512 chunks" {
		t.Errorf("sha512 blob: %q", body)
	}
	m512 := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/x.test","digest":%q,"size":11},"layers":[]}`,
		store.ManifestMediaType, d512)
	md512 := digest.SHA512.FromString(m512)
	resp, _ = c.expect(201, "PUT", "/v2/test/img/manifests/"+string(md512), m512, "Content-Type", store.ManifestMediaType)
	if resp.Header.Get("Docker-Content-Digest") != string(md512) {
		t.Errorf("sha512 manifest answered digest %q", resp.Header.Get("Docker-Content-Digest"))
	}
	if _, body = c.expect(200, "GET", "/v2/test/img/manifests/"+string(md512), ""); body != m512 {
		t.Errorf("sha512 manifest: %q", body)
	}

	// A manifest with a non-distributable layer the registry does not have.
	cfg := digest.FromString("nd config")
	c.expect(201, "POST", "/v2/nd/blobs/uploads/?digest="+string(cfg), "nd config")
	m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/x.test","digest":%q,"size":9},`+
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip","digest":%q,"size":5,"urls":["https://example.invalid/l"]}]}`,
		store.ManifestMediaType, cfg, digest.FromString("never"))
	c.expect(201, "PUT", "/v2/nd/manifests/v1", m, "Content-Type", store.ManifestMediaType)
}

// TestNoServerPaths: no reply, to an anonymous client or with the token,
// names a path of the server.
func TestNoServerPaths(t *testing.T) {
	s, _ := registrytest.Store(t, []string{"base"}, 0)
	c := client{t, "http://" + registrytest.Serve(t, s, serve.WithPushToken("tok"))}
	zero := "sha256:" + strings.Repeat("0", 64)
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/v2/test/manifests/latest", ""},
		{"GET", "/v2/test/manifests/" + zero, ""},
		{"GET", "/v2/nothing/manifests/latest", ""},
		{"GET", "/v2/test/blobs/" + zero, ""},
		{"GET", "/v2/test/tags/list?n=-1", ""},
		{"PUT", "/v2/test/manifests/x", `{"schemaVersion":2,"config":{"digest":"` + zero + `","size":1}}`},
		{"PUT", "/v2/test/manifests/x", `not json`},
		{"POST", "/v2/test/blobs/uploads/?digest=" + zero, "wrong"},
		{"PATCH", "/v2/test/blobs/uploads/nosuch", "x"},
		{"DELETE", "/v2/test/manifests/nosuch", ""},
		{"DELETE", "/v2/test/blobs/" + zero, ""},
	} {
		for _, auth := range []bool{false, true} {
			req, _ := http.NewRequest(r.method, c.base+r.path, strings.NewReader(r.body))
			if auth {
				req.Header.Set("Authorization", "Bearer tok")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode < 400 {
				t.Errorf("%s %s: %d, want an error", r.method, r.path, resp.StatusCode)
			}
			if strings.Contains(string(b), s.Dir()) || strings.Contains(string(b), "/tmp") {
				t.Errorf("%s %s: the reply names a server path: %s", r.method, r.path, b)
			}
		}
	}
}

// TestTokenOverPlainHTTP: the push token is refused from another machine
// over plain HTTP unless the server is insecure; over TLS it is taken.
func TestTokenOverPlainHTTP(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		insecure bool
		remote   string
		tls      bool
		want     int
	}{
		{"loopback", false, "127.0.0.1:4000", false, http.StatusAccepted},
		{"remote plain", false, "192.0.2.7:4000", false, http.StatusForbidden},
		{"remote plain, insecure server", true, "192.0.2.7:4000", false, http.StatusAccepted},
		{"remote TLS", false, "192.0.2.7:4000", true, http.StatusAccepted},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := serve.New(s, serve.WithPushToken("tok"), serve.WithInsecure(tt.insecure)).Handler()
			req := httptest.NewRequestWithContext(context.Background(), "POST", "/v2/x/blobs/uploads/", nil)
			req.RemoteAddr = tt.remote
			req.Header.Set("Authorization", "Bearer tok")
			req.TLS = nil
			if tt.tls {
				req.TLS = &tls.ConnectionState{HandshakeComplete: true}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tt.want {
				t.Errorf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
		})
	}
}

// TestGCWhileServing: gc during a push keeps the blobs whose manifest has not
// arrived (grace period) and the upload under way; once the manifest is
// deleted, gc frees them.
func TestGCWhileServing(t *testing.T) {
	ctx := context.Background()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := client{t, "http://" + registrytest.Serve(t, s, serve.WithPushToken("tok"))}
	resp, _ := c.expect(http.StatusAccepted, "POST", "/v2/gc/blobs/uploads/", "")
	loc := resp.Header.Get("Location")
	c.expect(http.StatusAccepted, "PATCH", loc, "half of a ", "Content-Range", "0-9")
	if res, err := s.GC(ctx, 0); err != nil || res.Temp != 0 {
		t.Fatalf("gc --grace 0: %+v, %v; want the upload under way kept", res, err)
	}
	cfg := "config pushed first"
	cd := digest.FromString(cfg)
	c.expect(http.StatusCreated, "POST", "/v2/gc/blobs/uploads/?digest="+string(cd), cfg)
	if res, err := s.GC(ctx, store.DefaultGrace); err != nil || res.Blobs != 0 || res.Kept != 1 {
		t.Fatalf("gc during the push: %+v, %v; want the config kept", res, err)
	}
	c.expect(http.StatusAccepted, "PATCH", loc, "layer", "Content-Range", "10-14")
	ld := digest.FromString("half of a layer")
	c.expect(http.StatusCreated, "PUT", loc+"?digest="+string(ld), "")
	m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/x.test","digest":%q,"size":%d},`+
		`"layers":[{"mediaType":"application/x.layer","digest":%q,"size":15}]}`, store.ManifestMediaType, cd, len(cfg), ld)
	c.expect(http.StatusCreated, "PUT", "/v2/gc/manifests/v1", m, "Content-Type", store.ManifestMediaType)

	c.expect(http.StatusAccepted, "DELETE", "/v2/gc/manifests/"+string(digest.FromString(m)), "")
	res, err := s.GC(ctx, 0)
	if err != nil || res.Blobs != 3 {
		t.Errorf("gc after the delete: %+v, %v; want 3 blobs (manifest, config, layer)", res, err)
	}
	c.expect(http.StatusNotFound, "GET", "/v2/gc/blobs/"+string(cd), "")
}
