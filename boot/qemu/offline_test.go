package qemu_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/site"
	"github.com/mode-build/mode/report"
)

// TestBootOffline boots examples/tiny with a cache disk and a mirror list
// whose first registry is down: online from mode serve; then with every
// registry down, offline from the cache (the console says so); then online
// again, which sends the offline boot's report, kept on the cache disk: the
// site lists three boots, the second offline.
func TestBootOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU (root, TCG): not with -short")
	}
	testutil.RequiresRoot(t)
	storeDir := filepath.Join(t.TempDir(), "store")
	testutil.BuildTiny(t, filepath.Join(t.TempDir(), "out"), storeDir)
	addr := registrytest.FreeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	cache := filepath.Join(t.TempDir(), "cache.img")
	if err := qemu.EmptyDisk(context.Background(), cache, 64); err != nil {
		t.Fatal(err)
	}
	down := registrytest.FreeAddr(t)
	_, downPort, _ := strings.Cut(down, ":")
	const mac = "52:54:00:00:00:0f"
	args := "mode.ref=10.0.2.2:" + port + "/tiny:extra mode.insecure mode.cache=/dev/vda mode.fetch.timeout=15s mode.mirrors=10.0.2.2:" + downPort +
		" mode.report=" + report.MachineToken("s3cret", mac)
	boot := func(t *testing.T, want ...string) string {
		t.Helper()
		m := netMachine(t, args, qemu.Disk{File: cache})
		m.MAC = mac
		res, err := qemu.Run(context.Background(), m, qemu.Watch{
			Expect: "MODE-TINY-OK", Fail: []string{"MODE-TINY-FAIL", "mode-init: FAILED"}, Timeout: 3 * time.Minute,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(res.Console, w) {
				t.Errorf("console lacks %q:\n%s", w, res.Console)
			}
		}
		return res.Console
	}

	stop := startModeServe(t, storeDir, addr, "s3cret")
	t.Run("online, the first mirror down", func(t *testing.T) {
		c := boot(t, "mode-init: pulled 4 layers, ")
		if strings.Contains(c, "OFFLINE") {
			t.Errorf("an online boot says OFFLINE:\n%s", c)
		}
	})
	stop()
	t.Run("offline", func(t *testing.T) {
		c := boot(t, "mode-init: OFFLINE: no registry answered",
			"OFFLINE: booting base-essential-console-extra sha256:",
			"boot report kept on the cache disk")
		for _, l := range strings.Split(c, "\n") {
			if strings.HasPrefix(l, "mode-init: ") {
				t.Log(strings.TrimSpace(l))
			}
		}
	})
	startModeServe(t, storeDir, addr, "s3cret")
	t.Run("online again", func(t *testing.T) {
		c := boot(t, "mode-init: pulled 0 layers", "boot report of the earlier offline boot sent")
		if strings.Contains(c, "boot report not sent") {
			t.Errorf("the report failed:\n%s", c)
		}
	})
	var h site.MachineHistory
	apiGet(t, "http://"+addr+"/api/machines/"+mac, &h)
	var offline []bool
	for _, r := range h.History { // newest first
		offline = append(offline, r.Offline)
		if !r.OK || r.Digest == "" {
			t.Errorf("report %+v: want an ok boot with its digest", r)
		}
	}
	if len(offline) != 3 || offline[0] || !offline[1] || offline[2] {
		t.Errorf("reports' offline flags, newest first: %v; want [false true false]", offline)
	}
	if dom := testutil.DumpDOM(t, "http://"+addr+"/machines/"+mac); !strings.Contains(dom, `class="offline"`) {
		t.Errorf("the machine's page does not mark the offline boot")
	}
}

// startModeServe runs mode serve on addr with the push token and returns a
// function that stops it (also at the end of the test).
func startModeServe(t *testing.T, storeDir, addr, token string) func() {
	t.Helper()
	cmd := exec.Command(filepath.Join(testutil.Binaries(t), "mode"), "serve", "--store", storeDir, "--addr", addr, "--push-token", token)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cmd.Process.Signal(os.Interrupt)
			cmd.Wait()
		}
	}
	t.Cleanup(stop)
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatalf("mode serve printed no URL: %v", err)
	}
	return stop
}
