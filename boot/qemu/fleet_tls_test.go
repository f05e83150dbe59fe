package qemu_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/fleet"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/site"
	"github.com/mode-build/mode/report"
)

// TestFleetTLSNetboot: a TLS site (mode serve --tls auto, a site file)
// netboots a tiny machine through the firmware's iPXE from its plain-HTTP
// --boot-addr: the script and the kernel line carry no mode.insecure, the
// init pulls the chain over HTTPS checked with the site CA of the initramfs
// mode serve built, fetches its machine.json and sends its boot report
// there, which the HTTPS API then shows.
func TestFleetTLSNetboot(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU: not with -short")
	}
	testutil.RequiresRoot(t)
	testutil.RequiresQEMU(t)
	start := time.Now()
	storeDir := filepath.Join(t.TempDir(), "store")
	testutil.BuildTiny(t, filepath.Join(t.TempDir(), "out"), storeDir)
	siteFile := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(siteFile, []byte(`rules:
  - {name: default, chain: tiny:extra, hostname: "tls-{mac}", metadata: {site: tls}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	k := testutil.Kernel(t)
	_, bootPort, _ := net.SplitHostPort(registrytest.FreeAddr(t))
	base := modeServe(t, storeDir, "s3cret", "--tls", "auto", "--boot-addr", "127.0.0.1:"+bootPort, "--advertise", "10.0.2.2",
		"--site-file", siteFile, "--kernel", k.Vmlinuz, "--kernel-modules", k.Deb) // the initramfs built by mode serve: it carries the site CA
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("mode serve --tls auto serves %s", base)
	}
	tlsPort := base[strings.LastIndex(base, ":")+1:]
	const mac = "52:54:00:00:0f:31"
	// The script iPXE gets on the plain-HTTP port.
	resp, err := http.Get("http://127.0.0.1:" + bootPort + "/boot/boot.ipxe?mac=" + mac)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	script := string(b)
	for _, want := range []string{"kernel http://10.0.2.2:" + bootPort + "/boot/chain/tiny/extra/vmlinuz ", " mode.ref=10.0.2.2:" + tlsPort + "/tiny:extra "} {
		if !strings.Contains(script, want) {
			t.Errorf("boot.ipxe lacks %q:\n%s", want, script)
		}
	}
	if strings.Contains(script, "mode.insecure") {
		t.Errorf("a TLS site's boot.ipxe sets mode.insecure:\n%s", script)
	}
	console := fleetBoot(t, qemu.Machine{MemoryMiB: 512, MAC: mac, BootURL: "http://10.0.2.2:" + bootPort + "/boot/boot.ipxe",
		Extra: []string{"-smbios", "type=1,serial=TLS-1"}}, "MODE-TINY-OK")
	if strings.Contains(console, "mode.insecure") || !strings.Contains(console, "mode.ref=10.0.2.2:"+tlsPort+"/tiny:extra") {
		t.Errorf("the kernel line is not the TLS site's:\n%s", console)
	}
	checkMachineJSON(t, console, fleet.MachineMeta{MAC: mac, Serial: "TLS-1", Hostname: "tls-525400000f31", Rule: "default",
		Chain: "tiny:extra", Metadata: map[string]string{"site": "tls"}})
	// The report came over HTTPS: the API, asked with the site CA, has it.
	ca, err := os.ReadFile(filepath.Join(storeDir, "tls", serve.CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err = client.Get(base + "/api/machines/" + mac)
	if err != nil {
		t.Fatal(err)
	}
	var h site.MachineHistory
	err = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/machines/%s: %s %v", mac, resp.Status, err)
	}
	ok := false
	for _, r := range h.History {
		ok = ok || r.Kind == report.KindBoot && r.OK && strings.HasSuffix(r.Ref, ":"+tlsPort+"/tiny:extra")
	}
	if !ok {
		t.Errorf("no successful boot report of tiny:extra in %+v", h.History)
	}
	t.Logf("TestFleetTLSNetboot: %.1fs in all", time.Since(start).Seconds())
}
