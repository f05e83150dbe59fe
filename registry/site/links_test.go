package site_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/mode-build/mode/report"
)

// TestMachineLinks: the links of / to machines whose identity (here a host
// name, no MAC) holds a slash or other characters of URLs resolve to
// their machine's page.
func TestMachineLinks(t *testing.T) {
	f := newFixture(t)
	names := []string{"a/b", "c d", "50%", "q?x=1#y", "../up"}
	for _, h := range names {
		r := goodReport()
		r.Machine = report.Machine{Hostname: h}
		if code, body := post(t, f.url, pushToken, mustJSON(t, r)); code != http.StatusCreated {
			t.Fatalf("%s: %d %s", h, code, body)
		}
	}
	_, page := get(t, f.url+"/")
	hrefs := regexp.MustCompile(`href="(/machines/[^"]*)"`).FindAllStringSubmatch(page, -1)
	if len(hrefs) != len(names) {
		t.Fatalf("%d machine links on /, want %d: %q", len(hrefs), len(names), hrefs)
	}
	seen := map[string]bool{}
	for _, m := range hrefs {
		href := strings.ReplaceAll(m[1], "&amp;", "&")
		code, body := get(t, f.url+href)
		if code != http.StatusOK {
			t.Errorf("%s: %d", href, code)
			continue
		}
		for _, h := range names {
			if strings.Contains(body, `<span class="machine-id">`+templateEscape(h)+`</span>`) {
				seen[h] = true
			}
		}
	}
	for _, h := range names {
		if !seen[h] {
			t.Errorf("no link of / leads to the page of %q (links %q)", h, hrefs)
		}
	}
}

// templateEscape is what html/template makes of s in text.
func templateEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "'", "&#39;", "<", "&lt;", ">", "&gt;", `"`, "&#34;").Replace(s)
}
