package site_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/site"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/report"
	"github.com/opencontainers/go-digest"
)

// TestAPI: the repositories with their tags and layer tree (packages), a
// chain, and machines newest first with their history, as JSON.
func TestAPI(t *testing.T) {
	f := newFixture(t)
	first, failed := goodReport(), goodReport()
	first.Machine = report.Machine{MAC: "52:54:00:00:00:01", Hostname: "older"}
	failed.OK, failed.Failed = false, &report.Failed{Step: "fetch", Message: "mode.ref=10.0.2.2:5000/tiny:nosuch: MANIFEST_UNKNOWN"}
	failed.Steps = append(failed.Steps[:2:2], report.Step{Name: "fetch", MS: 300, Failed: true})
	for _, r := range []*report.Report{first, goodReport(), failed} {
		if code, body := post(t, f.url, report.MachineToken(pushToken, r.Machine.ID()), mustJSON(t, r)); code != http.StatusCreated {
			t.Fatalf("%d %s", code, body)
		}
	}

	var repos []site.Repository
	getJSON(t, f.url+"/api/repositories", &repos)
	if len(repos) != 1 || repos[0].Name != "tiny" || len(repos[0].Tags) != 3 {
		t.Fatalf("repositories %+v", repos)
	}
	for _, tag := range repos[0].Tags {
		signed := len(tag.Signatures) == 1 && tag.Signatures[0].Cosign
		if signed != (tag.Tag == "extra") {
			t.Errorf("tag %s: signatures %+v", tag.Tag, tag.Signatures)
		}
	}
	tree := repos[0].Tree
	if len(tree) != 1 || tree[0].Module != "base" || len(tree[0].Children) != 1 {
		t.Fatalf("tree %+v", tree)
	}
	console := tree[0].Children[0]
	if console.Module != "console" || len(console.Added) != 2 || console.Removed[0].Name != "mawk" ||
		strings.Join(console.Tags, ",") != "console" || console.Children[0].Tags[0] != "extra" || console.Size <= 0 {
		t.Errorf("console layer %+v", console)
	}
	var c site.Chain
	getJSON(t, f.url+"/api/chains/tiny:extra", &c)
	if c.Name != "extra" || len(c.Layers) != 3 || !strings.HasPrefix(c.Digest, "sha256:") || c.Parent == "" {
		t.Errorf("chain %+v", c)
	}
	if code, _ := get(t, f.url+"/api/chains/tiny:nosuch"); code != http.StatusNotFound {
		t.Errorf("no such chain: %d", code)
	}

	var ms []site.Machine
	getJSON(t, f.url+"/api/machines", &ms)
	if len(ms) != 2 || ms[0].ID != "52:54:00:12:34:56" || ms[0].Reports != 2 || ms[0].Last.OK || ms[0].Last.Failed.Step != "fetch" || ms[1].Machine.Hostname != "older" {
		t.Fatalf("machines %+v", ms)
	}
	var h site.MachineHistory
	getJSON(t, f.url+"/api/machines/52:54:00:12:34:56", &h)
	if len(h.History) != 2 || h.History[0].OK || !h.History[1].OK || h.History[0].ID <= h.History[1].ID || h.History[0].Received.IsZero() {
		t.Errorf("history %+v", h.History)
	}
	if code, _ := get(t, f.url+"/api/machines/nosuch"); code != http.StatusNotFound {
		t.Errorf("no such machine: %d", code)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	code, body := get(t, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v\n%s", url, err, body)
	}
}

// TestPageEscapes: HTML in a host name or a failure message is shown as
// text on the pages, never as markup.
func TestPageEscapes(t *testing.T) {
	f := newFixture(t)
	r := goodReport()
	r.Machine.Hostname = `<script>alert("host")</script>`
	r.OK, r.Failed = false, &report.Failed{Step: "fetch", Message: `<img src=x onerror=alert(1)> failed`}
	if code, body := post(t, f.url, pushToken, mustJSON(t, r)); code != http.StatusCreated {
		t.Fatalf("%d %s", code, body)
	}
	for _, page := range []string{"/", "/machines/52:54:00:12:34:56"} {
		code, body := get(t, f.url+page)
		if code != http.StatusOK {
			t.Fatalf("%s: %d", page, code)
		}
		for _, bad := range []string{"<script>", "<img"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s holds %q unescaped", page, bad)
			}
		}
		for _, want := range []string{"&lt;script&gt;alert(&#34;host&#34;)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt; failed", "failed at fetch"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %q", page, want)
			}
		}
	}
	code, body := get(t, f.url+"/")
	for _, want := range []string{"base-console-extra", "console.sqfs", "+2", "signed (cosign)", "bash 5.2", "mawk 1.3", `class="tag">extra`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/ lacks %q", want)
		}
	}
}

// TestMetrics: requests by route and code, bytes served, pulls per chain,
// upload sessions, reports and failures by step appear in /metrics, for the
// registry's requests as well as the site's.
func TestMetrics(t *testing.T) {
	f := newFixture(t)
	reg := serve.New(f.store, serve.WithPushToken(pushToken), serve.WithHandler("/", f.st.Handler()), serve.WithMiddleware(f.st.Instrument))
	srv := httptest.NewServer(reg.Handler())
	defer srv.Close()
	r := goodReport()
	r.OK, r.Failed = false, &report.Failed{Step: "fetch", Message: "no"}
	post(t, srv.URL, pushToken, mustJSON(t, r))
	post(t, srv.URL, "", "{}")
	get(t, srv.URL+"/api/machines")
	if code, _ := get(t, srv.URL+"/v2/tiny/manifests/extra"); code != http.StatusOK {
		t.Fatalf("manifest: %d", code)
	}
	// An upload session: started (202), then completed (201).
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v2/tiny/blobs/uploads/", nil)
	req.Header.Set("Authorization", "Bearer "+pushToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start upload: %v %v", err, resp)
	}
	resp.Body.Close()
	blob := []byte("a blob")
	loc, _ := url.Parse(resp.Header.Get("Location"))
	q := loc.Query()
	q.Set("digest", digest.FromBytes(blob).String())
	loc.RawQuery = q.Encode()
	req, _ = http.NewRequest(http.MethodPut, srv.URL+loc.String(), bytes.NewReader(blob))
	req.Header.Set("Authorization", "Bearer "+pushToken)
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("finish upload: %v %v", err, resp)
	}
	resp.Body.Close()
	_, body := get(t, srv.URL+"/metrics")
	for _, want := range []string{
		`mode_http_requests_total{code="200",route="api"} 1`,
		`mode_http_requests_total{code="201",route="reports"} 1`,
		`mode_http_requests_total{code="401",route="reports"} 1`,
		`mode_http_requests_total{code="200",route="manifests"} 1`,
		`mode_chain_pulls_total{reference="extra",repository="tiny"} 1`,
		`mode_upload_sessions_total{event="started"} 1`,
		`mode_upload_sessions_total{event="completed"} 1`,
		`mode_reports_total{kind="boot",result="failed"} 1`,
		`mode_reports_refused_total{reason="token"} 1`,
		`mode_boot_failures_total{step="fetch"} 1`,
		`mode_boot_step_seconds_count{step="network"} 1`,
		`mode_http_response_bytes_total{route="manifests"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestChainInNestedRepository: a repository name with slashes is reached
// at /api/chains/REPO:TAG.
func TestChainInNestedRepository(t *testing.T) {
	f := newFixture(t)
	c, _, _, err := f.store.Chain("tiny", "console")
	if err != nil {
		t.Fatal(err)
	}
	var ls []store.Layer
	for _, m := range c.Layers {
		ls = append(ls, store.Layer{Path: f.store.BlobPath(digest.Digest(m.Digest)), Meta: m})
	}
	if _, err := f.store.AddChain(context.Background(), "team/os", "console", ls); err != nil {
		t.Fatal(err)
	}
	var got site.Chain
	getJSON(t, f.url+"/api/chains/team/os:console", &got)
	if got.Repository != "team/os" || got.Tag != "console" || len(got.Layers) != 2 {
		t.Errorf("chain %+v", got)
	}
	if code, _ := get(t, f.url+"/api/chains/team/os"); code != http.StatusNotFound {
		t.Errorf("no tag: %d", code)
	}
}
