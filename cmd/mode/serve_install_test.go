package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/report"
)

// TestInstallImageRefusals: the install image handler refuses, before any
// build, a ref that could not go on a kernel line, a bad MAC and a chain
// the store lacks; a failed build is a 500 that names nothing of the server.
func TestInstallImageRefusals(t *testing.T) {
	s, _ := registrytest.Store(t, []string{"base", "top"}, 0)
	ii := &installImages{store: s, boot: &swapHandler{}}
	defer ii.close()
	for _, tc := range []struct {
		query string
		code  int
		want  string
	}{
		{"ref=nohost", 400, "want HOST:PORT/REPO:TAG"},
		{"ref=" + url.QueryEscape("10.0.2.2:5000/"+registrytest.Repo+":top mode.debug"), 400, "want HOST:PORT/REPO:TAG"},
		{"ref=" + url.QueryEscape("10.0.2.2:5000/"+registrytest.Repo+":top") + "&mac=52:54", 400, "MAC"},
		{"ref=" + url.QueryEscape("10.0.2.2:5000/"+registrytest.Repo+":nosuch"), 404, "chain " + registrytest.Repo + ":nosuch"},
		// No /boot/ here: the build fails, and the reply says no more.
		{"ref=" + url.QueryEscape("10.0.2.2:5000/"+registrytest.Repo+":top"), 500, "the server's log says why"},
	} {
		w := httptest.NewRecorder()
		ii.ServeHTTP(w, httptest.NewRequest(http.MethodGet, report.InstallPath+"?"+tc.query, nil))
		if body := w.Body.String(); w.Code != tc.code || !strings.Contains(body, tc.want) || strings.Contains(body, s.Dir()) {
			t.Errorf("%s: %d %q, want %d %q", tc.query, w.Code, body, tc.code, tc.want)
		}
	}
}
