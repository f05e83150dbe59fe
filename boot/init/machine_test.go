package modeinit

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestFetchMachine: the init asks its own metadata with its token, and
// takes a refusal or an oversized reply as an error.
func TestFetchMachine(t *testing.T) {
	big := strings.Repeat("x", maxMachineJSON+1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/fleet/machines/52:54:00:00:00:02/metadata":
			w.Write([]byte(`"` + big + `"`))
		case r.URL.Path != "/api/fleet/machines/52:54:00:00:00:01/metadata":
			http.NotFound(w, r)
		case r.Header.Get("Authorization") != "Bearer tok1":
			http.Error(w, "wrong token", http.StatusUnauthorized)
		default:
			w.Write([]byte(`{"mac": "52:54:00:00:00:01", "hostname": "db1"}`))
		}
	}))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/tiny:extra"
	data, err := fetchMachine(ref, true, "52:54:00:00:00:01", "tok1", 0)
	if err != nil || string(data) != `{"mac": "52:54:00:00:00:01", "hostname": "db1"}` {
		t.Errorf("got %q, %v", data, err)
	}
	if _, err := fetchMachine(ref, true, "52:54:00:00:00:01", "tok2", 0); err == nil || !strings.Contains(err.Error(), "401 Unauthorized: wrong token") {
		t.Errorf("another token: %v", err)
	}
	if _, err := fetchMachine(ref, true, "52:54:00:00:00:02", "tok1", 0); err == nil || !strings.Contains(err.Error(), "over 262144 bytes") {
		t.Errorf("oversized: %v", err)
	}
	if _, err := fetchMachine(ref, true, "", "tok1", 0); err == nil {
		t.Error("no MAC: no error")
	}
}
