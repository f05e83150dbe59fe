package qemu_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/site"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/report"
)

// TestBootReports boots examples/tiny from a running mode serve twice, once
// well and once failing at fetch (a tag it lacks), from two machines: both
// boots appear in the API with their steps, and in headless Chromium on the
// site's pages, which are saved as screenshots. A third boot from a server
// that never answers reports is slowed by no more than the report timeout.
func TestBootReports(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU (root, TCG) and runs Chromium: not with -short")
	}
	testutil.RequiresRoot(t)
	storeDir := filepath.Join(t.TempDir(), "store")
	testutil.BuildTiny(t, filepath.Join(t.TempDir(), "out"), storeDir)
	base := modeServe(t, storeDir, "s3cret")
	u, _ := url.Parse(base)
	_, port, _ := strings.Cut(u.Host, ":")
	guestReg := "10.0.2.2:" + port

	good, bad := "52:54:00:00:00:01", "52:54:00:00:00:02"
	t.Run("good boot", func(t *testing.T) {
		m := netMachine(t, "mode.ref="+guestReg+"/tiny:extra mode.insecure mode.report="+report.MachineToken("s3cret", good))
		m.MAC = good
		res, err := qemu.Run(context.Background(), m, qemu.Watch{
			Expect: "MODE-TINY-OK", Fail: []string{"MODE-TINY-FAIL", "mode-init: FAILED"}, Timeout: 3 * time.Minute,
		})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(res.Console, "boot report not sent") {
			t.Errorf("the report failed:\n%s", res.Console)
		}
	})
	t.Run("boot failing at fetch", func(t *testing.T) {
		m := netMachine(t, "mode.ref="+guestReg+"/tiny:nosuch mode.insecure mode.report="+report.MachineToken("s3cret", bad))
		m.MAC = bad
		res, err := qemu.Run(context.Background(), m, qemu.Watch{
			Expect: "(mode rescue) # ", Fail: []string{"MODE-TINY-"}, Timeout: 3 * time.Minute,
		})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(res.Console, "boot report not sent") {
			t.Errorf("the report failed:\n%s", res.Console)
		}
	})

	var ms []site.Machine
	apiGet(t, base+"/api/machines", &ms)
	if len(ms) != 2 || ms[0].ID != bad || ms[1].ID != good {
		t.Fatalf("machines %+v: want %s then %s", ms, bad, good)
	}
	ok, failed := ms[1].Last, ms[0].Last
	if !ok.OK || ok.Chain != "base-essential-console-extra" || !strings.HasPrefix(ok.Digest, "sha256:") || ok.Machine.IP == "" {
		t.Errorf("good boot's report %+v", ok)
	}
	if got := stepNames(ok); !inOrder(got, "modules", "network", "fetch", "mount layers", "chain.json") || strings.Contains(got, "failed") {
		t.Errorf("good boot's steps %q", got)
	}
	if failed.OK || failed.Failed == nil || failed.Failed.Step != "fetch" || !strings.Contains(failed.Failed.Message, "MANIFEST_UNKNOWN") {
		t.Errorf("failed boot's report %+v", failed)
	}
	if got := stepNames(failed); !inOrder(got, "modules", "network", "fetch") || !strings.HasSuffix(got, "|fetch") || !failed.Steps[len(failed.Steps)-1].Failed {
		t.Errorf("failed boot's steps %q: want the failed fetch last", got)
	}

	// The pages in a browser.
	dir := t.ArtifactDir()
	dom := testutil.DumpDOM(t, base+"/")
	for _, want := range []string{"extra", "base-essential-console-extra.sqfs", "base.sqfs", good, bad, "failed at fetch", "MANIFEST_UNKNOWN"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page / lacks %q", want)
		}
	}
	page := base + "/machines/" + bad
	dom = testutil.DumpDOM(t, page)
	for _, want := range []string{bad, "failed at fetch", "MANIFEST_UNKNOWN", `class="step failed"`, "network"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page of %s lacks %q", bad, want)
		}
	}
	testutil.Screenshot(t, base+"/", filepath.Join(dir, "site.png"))
	testutil.Screenshot(t, page, filepath.Join(dir, "machine.png"))
	t.Logf("screenshots in %s", dir)

	t.Run("server not answering reports", func(t *testing.T) {
		s, err := store.Open(storeDir)
		if err != nil {
			t.Fatal(err)
		}
		reg := serve.New(s).Handler()
		stop := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == report.Path {
				select { // never answers while the boot waits
				case <-stop:
				case <-r.Context().Done():
				}
				return
			}
			reg.ServeHTTP(w, r)
		}))
		defer srv.Close()
		defer close(stop)
		p, _ := url.Parse(srv.URL)
		res, err := qemu.Run(context.Background(), netMachine(t, "mode.ref=10.0.2.2:"+p.Port()+"/tiny:extra mode.insecure mode.report=x mode.report.timeout=3s"), qemu.Watch{
			Expect: "MODE-TINY-OK", Fail: []string{"MODE-TINY-FAIL", "mode-init: FAILED"}, Timeout: 3 * time.Minute,
		})
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`boot report not sent \(.*deadline exceeded.*\), after ([0-9.]+)s`).FindStringSubmatch(res.Console)
		if m == nil {
			t.Fatalf("no 'boot report not sent' line:\n%s", res.Console)
		}
		if d, _ := strconv.ParseFloat(m[1], 64); d > 4 {
			t.Errorf("the report held the boot %.2fs with a 3s timeout", d)
		}
	})
}

// stepNames joins the names of r's steps with "|".
func stepNames(r *report.Report) string {
	var names []string
	for _, s := range r.Steps {
		names = append(names, s.Name)
	}
	return strings.Join(names, "|")
}

// inOrder reports whether the "|"-joined steps hold want in this order
// (other steps, such as trust, may come between).
func inOrder(steps string, want ...string) bool {
	i := 0
	for _, s := range strings.Split(steps, "|") {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	return i == len(want)
}

func apiGet(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// modeServe runs `mode serve` (the binary) on the store with a push token
// (and more flags) and returns its URL; it stops at the end of the test.
func modeServe(t *testing.T, storeDir, token string, extra ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(testutil.Binaries(t), "mode"), append([]string{"serve", "--store", storeDir, "--addr", "127.0.0.1:0", "--push-token", token}, extra...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("mode serve printed no URL: %v", err)
	}
	return strings.TrimSpace(line)
}
