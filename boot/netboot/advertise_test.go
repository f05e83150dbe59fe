package netboot_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/boot/netboot"
)

func TestAdvertise(t *testing.T) {
	listen := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}
	for _, tc := range []struct{ adv, want string }{
		{"192.0.2.7:80", "192.0.2.7:80"},
		{"192.0.2.7", "192.0.2.7:5000"},
		{"boot.example", "boot.example:5000"},
		{"2001:db8::1", "[2001:db8::1]:5000"},
	} {
		if got, err := netboot.Advertise(tc.adv, listen); err != nil || got != tc.want {
			t.Errorf("Advertise(%q) = %q, %v; want %q", tc.adv, got, err, tc.want)
		}
	}
	if got, err := netboot.Advertise("", listen); err != nil || strings.HasSuffix(got, ":5000") == false {
		t.Errorf("Advertise default = %q, %v (this machine has a default route)", got, err)
	}
}

func TestDefaultRouteIP(t *testing.T) {
	dir := t.TempDir()
	routes := filepath.Join(dir, "route")
	head := "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
	os.WriteFile(routes, []byte(head+"lo\t0000007F\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0\nlo\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"), 0o644)
	if ip, err := netboot.DefaultRouteIP(routes); err != nil || !ip.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("DefaultRouteIP = %v, %v; want lo's 127.0.0.1", ip, err)
	}
	os.WriteFile(routes, []byte(head), 0o644)
	if _, err := netboot.DefaultRouteIP(routes); err == nil || !strings.Contains(err.Error(), "no default route") {
		t.Errorf("no default route: %v", err)
	}
}
