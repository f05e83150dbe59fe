package media_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/boot/media"
)

// TestPXEDnsmasqHTTPBoot: mode netboot's dnsmasq snippet says how to hand
// UEFI HTTP boot clients (Secure Boot) serve's signed UKI on the server
// given, commented out (it needs serve --secure-boot-key).
func TestPXEDnsmasqHTTPBoot(t *testing.T) {
	if testing.Short() {
		t.Skip("Debian's ipxe: not with -short")
	}
	if _, err := os.Stat("/usr/lib/ipxe/ipxe.efi"); err != nil {
		t.Fatalf("%v: install ipxe (make deps)", err)
	}
	dir := t.TempDir()
	if _, err := media.WritePXE(dir, "10.0.0.1:5000", ""); err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join(dir, "dnsmasq.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\n# dhcp-vendorclass=set:efihttp,HTTPClient\n", "\n# dhcp-option-force=tag:efihttp,60,HTTPClient\n",
		"\n# dhcp-boot=tag:efihttp,http://10.0.0.1:5000/boot/mode.efi\n"} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("dnsmasq.conf lacks %q:\n%s", want, conf)
		}
	}
}
