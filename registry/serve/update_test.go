package serve_test

import (
	"net/http"
	"testing"

	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// TestUpdate: a new push token and a new upload limit apply to the next
// requests, and an upload session opened before the update stays open.
func TestUpdate(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sv := serve.New(s, serve.WithPushToken("old"), serve.WithLimits(serve.Limits{Uploads: 2}))
	base := "http://" + limitedServer(t, sv)
	do := func(method, path, token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := do("GET", "/v2/", "old"); r.StatusCode != http.StatusOK {
		t.Fatalf("GET /v2/ with the token: %s", r.Status)
	}
	open := do("POST", "/v2/r/blobs/uploads/", "old")
	if open.StatusCode != http.StatusAccepted {
		t.Fatalf("start an upload: %s", open.Status)
	}

	sv.Update(serve.WithPushToken("new"), serve.WithLimits(serve.Limits{Uploads: 1}))
	if r := do("GET", "/v2/", "old"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old token after the update: %s, want 401", r.Status)
	}
	if r := do("GET", "/v2/", "new"); r.StatusCode != http.StatusOK {
		t.Errorf("the new token: %s", r.Status)
	}
	if r := do("POST", "/v2/r/blobs/uploads/", "new"); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a second upload over the new limit of 1: %s, want 429", r.Status)
	}
	if r := do("GET", open.Header.Get("Location"), "new"); r.StatusCode != http.StatusNoContent {
		t.Errorf("the session opened before the update: %s, want 204", r.Status)
	}
}
