package registry

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeUploads drives the push side of the API by hand: monolithic,
// chunked and mounted uploads, and what is refused.
func TestServeUploads(t *testing.T) {
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + serveStore(t, s, WithPushToken("tok")) + "/v2/up"
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
	hello := digestBytes([]byte("hello world"))

	t.Run("monolithic", func(t *testing.T) {
		expect(t, do(t, "POST", base+"/blobs/uploads/?digest="+hello, "hello world"), http.StatusCreated)
		if !s.HasBlob(hello, 11) {
			t.Error("blob not in the store")
		}
	})
	t.Run("monolithic with a wrong digest", func(t *testing.T) {
		other := digestBytes([]byte("other"))
		expect(t, do(t, "POST", base+"/blobs/uploads/?digest="+other, "not other"), http.StatusBadRequest)
		if s.HasBlob(other, -1) {
			t.Error("a blob that does not match its digest was stored")
		}
	})
	t.Run("mount", func(t *testing.T) {
		expect(t, do(t, "POST", base+"/blobs/uploads/?mount="+hello+"&from=elsewhere", ""), http.StatusCreated)
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
		d := digestBytes([]byte("chunk one, two"))
		expect(t, do(t, "PUT", loc+"?digest="+d, ""), http.StatusCreated)
		b, err := s.ReadBlob(d)
		if err != nil || string(b) != "chunk one, two" {
			t.Errorf("stored %q, %v", b, err)
		}
		expect(t, do(t, "GET", loc, ""), http.StatusNotFound) // the session is over
	})
	t.Run("chunk out of order", func(t *testing.T) {
		resp := do(t, "POST", base+"/blobs/uploads/", "")
		loc := "http://" + resp.Request.URL.Host + resp.Header.Get("Location")
		expect(t, do(t, "PATCH", loc, "abc", "Content-Range", "5-7"), http.StatusRequestedRangeNotSatisfiable)
	})
	t.Run("final digest mismatch", func(t *testing.T) {
		resp := do(t, "POST", base+"/blobs/uploads/", "")
		loc := "http://" + resp.Request.URL.Host + resp.Header.Get("Location")
		expect(t, do(t, "PUT", loc+"?digest="+hello, "not hello"), http.StatusBadRequest)
		if left, _ := filepath.Glob(filepath.Join(s.Dir(), ".tmp", "upload-*")); len(left) != 0 {
			t.Errorf("failed uploads left %v", left)
		}
	})
	t.Run("manifest with a missing blob", func(t *testing.T) {
		m := `{"schemaVersion":2,"mediaType":"` + ManifestMediaType + `","config":{"mediaType":"x","digest":"sha256:` + strings.Repeat("0", 64) + `","size":2},"layers":[]}`
		expect(t, do(t, "PUT", base+"/manifests/t", m, "Content-Type", ManifestMediaType), http.StatusBadRequest)
	})
	t.Run("manifest by wrong digest", func(t *testing.T) {
		m := `{"schemaVersion":2,"mediaType":"` + ManifestMediaType + `","config":{"mediaType":"x","digest":"` + hello + `","size":11},"layers":[]}`
		expect(t, do(t, "PUT", base+"/manifests/"+hello, m, "Content-Type", ManifestMediaType), http.StatusBadRequest)
		expect(t, do(t, "PUT", base+"/manifests/"+digestBytes([]byte(m)), m, "Content-Type", ManifestMediaType), http.StatusCreated)
		expect(t, do(t, "PUT", base+"/manifests/v1", m, "Content-Type", ManifestMediaType), http.StatusCreated)
		if tags, _ := s.Tags(); len(tags) != 1 || tags[0] != "v1" {
			t.Errorf("tags %v, want [v1]", tags)
		}
	})
}
