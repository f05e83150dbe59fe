package serve_test

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// TestServeUploads drives the push side of the API by hand: monolithic,
// chunked and mounted uploads, and what is refused.
func TestServeUploads(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + registrytest.Serve(t, s, serve.WithPushToken("tok")) + "/v2/up"
	do := func(t *testing.T, method, url, body string, hdr ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	expect := func(t *testing.T, resp *http.Response, status int) {
		t.Helper()
		if resp.StatusCode != status {
			t.Fatalf("%s %s: status %d, want %d", resp.Request.Method, resp.Request.URL, resp.StatusCode, status)
		}
	}
	hello := digest.FromBytes([]byte("hello world"))

	t.Run("monolithic", func(t *testing.T) {
		expect(t, do(t, "POST", base+"/blobs/uploads/?digest="+string(hello), "hello world"), http.StatusCreated)
		if !s.HasBlob(hello, 11) {
			t.Error("blob not in the store")
		}
	})
	t.Run("monolithic with a wrong digest", func(t *testing.T) {
		other := digest.FromBytes([]byte("other"))
		expect(t, do(t, "POST", base+"/blobs/uploads/?digest="+string(other), "not other"), http.StatusBadRequest)
		if s.HasBlob(other, -1) {
			t.Error("a blob that does not match its digest was stored")
		}
	})
	t.Run("mount", func(t *testing.T) {
		expect(t, do(t, "POST", base+"/blobs/uploads/?mount="+string(hello)+"&from=elsewhere", ""), http.StatusCreated)
	})
	t.Run("chunked", func(t *testing.T) {
		resp := do(t, "POST", base+"/blobs/uploads/", "")
		expect(t, resp, http.StatusAccepted)
		loc := "http://" + resp.Request.URL.Host + resp.Header.Get("Location")
		expect(t, do(t, "PATCH", loc, "chunk one,", "Content-Range", "0-9"), http.StatusAccepted)
		resp = do(t, "GET", loc, "")
		expect(t, resp, http.StatusNoContent)
		if r := resp.Header.Get("Range"); r != "0-9" {
			t.Errorf("upload status Range %q, want 0-9", r)
		}
		expect(t, do(t, "PATCH", loc, " two", "Content-Range", "10-13"), http.StatusAccepted)
		d := digest.FromBytes([]byte("chunk one, two"))
		expect(t, do(t, "PUT", loc+"?digest="+string(d), ""), http.StatusCreated)
		b, err := s.ReadBlob(d)
		if err != nil || string(b) != "chunk one, two" {
			t.Errorf("stored %q, %v", b, err)
		}
		expect(t, do(t, "GET", loc, ""), http.StatusNotFound) // the session is over
	})
	t.Run("chunk out of order", func(t *testing.T) {
		resp := do(t, "POST", base+"/blobs/uploads/", "")
		loc := "http://" + resp.Request.URL.Host + resp.Header.Get("Location")
		expect(t, do(t, "PATCH", loc, "abc", "Content-Range", "0-2"), http.StatusAccepted)
		expect(t, do(t, "PATCH", loc, "xyz", "Content-Range", "5-7"), http.StatusRequestedRangeNotSatisfiable)
		// The session survives the rejected chunk, as the spec wants.
		resp = do(t, "GET", loc, "")
		expect(t, resp, http.StatusNoContent)
		if r := resp.Header.Get("Range"); r != "0-2" {
			t.Errorf("after a rejected chunk: Range %q, want 0-2", r)
		}
		expect(t, do(t, "PATCH", loc, "def", "Content-Range", "3-5"), http.StatusAccepted)
		// Cancelled, it is gone with its data.
		expect(t, do(t, "DELETE", loc, ""), http.StatusNoContent)
		expect(t, do(t, "GET", loc, ""), http.StatusNotFound)
	})
	t.Run("final digest mismatch", func(t *testing.T) {
		resp := do(t, "POST", base+"/blobs/uploads/", "")
		loc := "http://" + resp.Request.URL.Host + resp.Header.Get("Location")
		expect(t, do(t, "PUT", loc+"?digest="+string(hello), "not hello"), http.StatusBadRequest)
		if left, _ := filepath.Glob(filepath.Join(s.Dir(), ".tmp", "upload-*")); len(left) != 0 {
			t.Errorf("failed uploads left %v", left)
		}
	})
	t.Run("manifest with a missing blob", func(t *testing.T) {
		m := `{"schemaVersion":2,"mediaType":"` + store.ManifestMediaType + `","config":{"mediaType":"x","digest":"sha256:` + strings.Repeat("0", 64) + `","size":2},"layers":[]}`
		expect(t, do(t, "PUT", base+"/manifests/t", m, "Content-Type", store.ManifestMediaType), http.StatusBadRequest)
	})
	t.Run("manifest by wrong digest", func(t *testing.T) {
		m := `{"schemaVersion":2,"mediaType":"` + store.ManifestMediaType + `","config":{"mediaType":"x","digest":"` + string(hello) + `","size":11},"layers":[]}`
		expect(t, do(t, "PUT", base+"/manifests/"+string(hello), m, "Content-Type", store.ManifestMediaType), http.StatusBadRequest)
		expect(t, do(t, "PUT", base+"/manifests/"+string(digest.FromBytes([]byte(m))), m, "Content-Type", store.ManifestMediaType), http.StatusCreated)
		expect(t, do(t, "PUT", base+"/manifests/v1", m, "Content-Type", store.ManifestMediaType), http.StatusCreated)
		if tags, _ := s.Tags("up"); len(tags) != 1 || tags[0] != "v1" {
			t.Errorf("tags %v, want [v1]", tags)
		}
	})
}
