package site_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/site"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/registry/trust"
	"github.com/mode-build/mode/report"
)

const pushToken = "s3cret-push-token"

// fixture is a served site over a store with the chains base, base-console
// and base-console-extra (packages added and removed; extra signed) in
// repository "tiny".
type fixture struct {
	store *store.Store
	url   string
	db    *site.DB
	st    *site.Site
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ls := registrytest.Chain(t, []string{"base", "console", "extra"}, 0)
	ls[1].Meta.Packages = &layers.Packages{
		Added:   []layers.Package{{Name: "bash", Version: "5.2"}, {Name: "less", Version: "643"}},
		Removed: []layers.Package{{Name: "mawk", Version: "1.3"}},
	}
	for i, tag := range []string{"base", "console", "extra"} {
		if _, err := s.AddChain(context.Background(), "tiny", tag, ls[:i+1]); err != nil {
			t.Fatal(err)
		}
	}
	keyFile, _, err := trust.WriteKeyPair(filepath.Join(t.TempDir(), "k"), nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := trust.LoadSigner(keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := trust.SignStore(s, "tiny:extra", signer, nil); err != nil {
		t.Fatal(err)
	}
	db, err := site.OpenDB(filepath.Join(t.TempDir(), "reports.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := site.New(s, db, site.WithPushToken(pushToken, false), site.WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil))))
	srv := httptest.NewServer(st.Instrument(st.Handler()))
	t.Cleanup(srv.Close)
	return &fixture{store: s, url: srv.URL, db: db, st: st}
}

func goodReport() *report.Report {
	return &report.Report{
		Kind:    report.KindBoot,
		Machine: report.Machine{MAC: "52:54:00:12:34:56", IP: "10.0.2.15", Hostname: "node1"},
		Chain:   "base-console-extra", Ref: "10.0.2.2:5000/tiny:extra",
		Digest: "sha256:" + strings.Repeat("ab", 32),
		Steps:  []report.Step{{Name: "modules", MS: 120}, {Name: "network", MS: 900}, {Name: "fetch", MS: 2100}, {Name: "mount layers", MS: 40}},
		OK:     true,
	}
}

func post(t *testing.T, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+report.Path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReportsRefused: bad tokens and bad reports are refused and stored
// nowhere (a machine's token speaks for that machine only); good ones with
// the machine's token or the push token are stored.
func TestReportsRefused(t *testing.T) {
	f := newFixture(t)
	good := mustJSON(t, goodReport())
	boot := report.MachineToken(pushToken, goodReport().Machine.ID())
	withField := strings.Replace(good, `"kind"`, `"admin":true,"kind"`, 1)
	huge := goodReport()
	huge.Steps[0].Summary = strings.Repeat("x", report.MaxBytes)
	for _, tc := range []struct {
		name, token, body string
		code              int
		want              string
	}{
		{"no token", "", good, 401, "machine's token"},
		{"wrong token", "nope", good, 401, "wrong token"},
		{"another machine's token", report.MachineToken(pushToken, "52:54:00:00:00:99"), good, 401, "wrong token"},
		{"a token of another push token", report.MachineToken("other", goodReport().Machine.ID()), good, 401, "wrong token"},
		{"malformed", boot, `{"kind": "boot", "machine": `, 400, "invalid report"},
		{"oversized", boot, mustJSON(t, huge), 400, "larger than"},
		{"unknown field", boot, withField, 400, `unknown field`},
		{"bad mac", boot, strings.Replace(good, "52:54:00:12:34:56", "52:54:00:12:34", 1), 400, "machine.mac"},
		{"ok and failed", boot, strings.Replace(good, `"ok":true`, `"ok":true,"failed":{"step":"x","message":"y"}`, 1), 400, "ok with a failed step"},
		{"trailing data", boot, good + "{}", 400, "data after"},
		{"server's id", boot, strings.Replace(good, `"ok":true`, `"ok":true,"id":7`, 1), 400, "server's"},
		{"host name over 128 bytes", boot, strings.Replace(good, `"node1"`, `"`+strings.Repeat("h", report.MaxName+1)+`"`, 1), 400, "machine.hostname: 129 bytes, at most 128"},
		{"invalid UTF-8", boot, strings.Replace(good, `"node1"`, "\"node\xff\"", 1), 400, "machine.hostname: not UTF-8"},
		{"C1 control character", boot, strings.Replace(good, `"node1"`, `"node\u0085"`, 1), 400, "control character U+0085"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := post(t, f.url, tc.token, tc.body)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Errorf("got %d %s, want %d with %q", code, body, tc.code, tc.want)
			}
			if n, _ := f.db.Count(); n != 0 {
				t.Errorf("%d reports stored after a refused one", n)
			}
		})
	}
	for _, token := range []string{boot, pushToken} { // the push token from loopback
		if code, body := post(t, f.url, token, good); code != http.StatusCreated {
			t.Fatalf("good report: %d %s", code, body)
		}
	}
	if n, _ := f.db.Count(); n != 2 {
		t.Errorf("%d reports stored, want 2", n)
	}
}

// TestNoPushTokenNoReports: a server without a push token takes no report.
func TestNoPushTokenNoReports(t *testing.T) {
	s, _ := registrytest.Store(t, []string{"base"}, 0)
	db, err := site.OpenDB(filepath.Join(t.TempDir(), "r.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv := httptest.NewServer(site.New(s, db).Handler())
	defer srv.Close()
	code, body := post(t, srv.URL, report.MachineToken("", "x"), mustJSON(t, goodReport()))
	if code != http.StatusForbidden || !strings.Contains(body, "--push-token") {
		t.Errorf("got %d %s", code, body)
	}
}

// TestDBBoundedAndDurable: the database keeps the newest reports up to its
// bound, and keeps them when reopened.
func TestDBBoundedAndDurable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "reports.db")
	db, err := site.OpenDB(file, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		r := goodReport()
		r.Machine.MAC = fmt.Sprintf("52:54:00:00:00:%02x", i%2)
		if _, err := db.Add(r, r.Time); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if db, err = site.OpenDB(file, 3); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.Reports("", 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint64
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	if fmt.Sprint(ids) != "[5 4 3]" {
		t.Errorf("reports %v after reopening, want the newest three [5 4 3]", ids)
	}
	ms, err := db.Machines()
	if err != nil || len(ms) != 2 || ms[0].ID != "52:54:00:00:00:00" || ms[0].Reports != 3 || ms[0].Last.ID != 5 {
		t.Errorf("machines %+v (%v): want 52:54:00:00:00:00 first with 3 reports, last 5", ms, err)
	}
}
