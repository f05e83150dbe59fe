package netboot_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mode-build/mode/boot/netboot"
)

// TestGrubConfig is /boot/grub.cfg, what Debian's signed network GRUB
// sources: the chain asked for, the server's, a machine's choice by its
// MAC (and its token), local boot, the TLS site's plain-HTTP files, quoted
// parameters, and bad requests.
func TestGrubConfig(t *testing.T) {
	choose := func(m netboot.Machine) (*netboot.Choice, error) {
		switch m.MAC {
		case "52:54:00:00:00:02":
			return &netboot.Choice{Repo: "tiny", Ref: "console", Args: "mode.hostname=two x=$y"}, nil
		case "52:54:00:00:00:04":
			return &netboot.Choice{Local: true}, nil
		}
		return nil, nil
	}
	token := func(mac string) string { return "tok-" + mac }
	srv := httptest.NewServer(netboot.Handler(netboot.Config{Chain: "console", Choose: choose, Token: token}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	tls := httptest.NewServer(netboot.Handler(netboot.Config{Chain: "console", Repo: "tiny", Registry: "site:5443", Files: "http://site:5080"}))
	defer tls.Close()
	https := httptest.NewServer(netboot.Handler(netboot.Config{Chain: "console", Files: "https://site:5443"}))
	defer https.Close()
	dev := "(http," + host + ")"
	for _, tc := range []struct {
		url  string
		code int
		want []string
	}{
		{srv.URL + "/boot/grub.cfg?chain=extra&mac=52:54:00:00:00:01", http.StatusOK, []string{
			"linux " + dev + "/boot/vmlinuz console=tty0 console=ttyS0 mode.ref=" + host + "/mode:extra mode.insecure mode.report=tok-52:54:00:00:00:01\n",
			"initrd " + dev + "/boot/initrd.img\n", "boot\n"}},
		{srv.URL + "/boot/grub.cfg?mac=52:54:00:00:00:01", http.StatusOK, []string{"mode.ref=" + host + "/mode:console mode.insecure"}},
		{srv.URL + "/boot/grub.cfg?mac=52:54:00:00:00:02", http.StatusOK, []string{"mode.ref=" + host + "/tiny:console mode.insecure mode.report=tok-52:54:00:00:00:02 mode.hostname=two 'x=$y'\n"}},
		{srv.URL + "/boot/grub.cfg?mac=52:54:00:00:00:04", http.StatusOK, []string{"boots from its local disk", "exit\n"}},
		{tls.URL + "/boot/grub.cfg?mac=52:54:00:00:00:01", http.StatusOK, []string{"linux (http,site:5080)/boot/vmlinuz console=tty0 console=ttyS0 mode.ref=site:5443/tiny:console\n"}},
		{https.URL + "/boot/grub.cfg?mac=52:54:00:00:00:01", http.StatusBadRequest, []string{"plain HTTP"}},
		{srv.URL + "/boot/grub.cfg", http.StatusBadRequest, []string{"mac"}},
		{srv.URL + "/boot/grub.cfg?mac=52:54:00:00:00:01&chain=a%2Fb", http.StatusBadRequest, []string{"bad chain name"}},
	} {
		code, body := get(t, tc.url)
		if code != tc.code {
			t.Errorf("%s: %d, want %d: %s", tc.url, code, tc.code, body)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q:\n%s", tc.url, w, body)
			}
		}
	}
}
