package netboot_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mode-build/mode/boot/netboot"
)

// TestNoCloudSeed: with Config.NoCloud, a machine with a token gets its
// seed on the kernel line, from the base URL of its files (a TLS site's
// plain-HTTP /boot/), and /boot/nocloud/ reaches the handler; without a
// token no seed is named.
func TestNoCloudSeed(t *testing.T) {
	seeds := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("SEED " + r.URL.Path)) })
	cfg := netboot.Config{Chain: "console", Files: "http://10.0.0.9:8080", Registry: "site.example:443", NoCloud: seeds,
		Token: func(mac string) string {
			if mac == "52:54:00:00:00:02" {
				return ""
			}
			return "tok-" + strings.ReplaceAll(mac, ":", "")
		}}
	srv := httptest.NewServer(netboot.Handler(cfg))
	defer srv.Close()
	_, script := get(t, srv.URL+"/boot/boot.ipxe?mac=52:54:00:00:00:01")
	want := " mode.report=tok-525400000001 ds=nocloud-net;s=http://10.0.0.9:8080/boot/nocloud/52:54:00:00:00:01/tok-525400000001/\n"
	if !strings.Contains(script, want) || strings.Contains(script, "mode.insecure") {
		t.Errorf("script:\n%s\nwant %q", script, want)
	}
	if _, script := get(t, srv.URL+"/boot/boot.ipxe?mac=52:54:00:00:00:02"); strings.Contains(script, "ds=") {
		t.Errorf("a seed without a token:\n%s", script)
	}
	if code, body := get(t, srv.URL+"/boot/nocloud/52:54:00:00:00:01/tok-525400000001/meta-data"); code != 200 || body != "SEED /boot/nocloud/52:54:00:00:00:01/tok-525400000001/meta-data" {
		t.Errorf("seed: %d %q", code, body)
	}
	// Without NoCloud: no seed, no /boot/nocloud/.
	cfg.NoCloud = nil
	srv2 := httptest.NewServer(netboot.Handler(cfg))
	defer srv2.Close()
	if _, script := get(t, srv2.URL+"/boot/boot.ipxe?mac=52:54:00:00:00:01"); strings.Contains(script, "ds=") {
		t.Errorf("a seed without NoCloud:\n%s", script)
	}
	if code, _ := get(t, srv2.URL+"/boot/nocloud/52:54:00:00:00:01/tok-525400000001/meta-data"); code != http.StatusNotFound {
		t.Errorf("nocloud without NoCloud: %d", code)
	}
}
