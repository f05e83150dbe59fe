package media_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/boot/media"
)

// TestPXEDnsmasqHTTPBoot: mode netboot's dnsmasq snippet hands UEFI HTTP
// boot clients (Secure Boot) serve's signed UKI with --http-boot, and has
// those lines commented out without it; dnsmasq itself accepts both
// snippets (dnsmasq --test), and with --http-boot no PXE line can match an
// HTTP boot client.
func TestPXEDnsmasqHTTPBoot(t *testing.T) {
	if testing.Short() {
		t.Skip("Debian's ipxe and dnsmasq: not with -short")
	}
	if _, err := os.Stat("/usr/lib/ipxe/ipxe.efi"); err != nil {
		t.Fatalf("%v: install ipxe (make deps)", err)
	}
	dnsmasq, err := exec.LookPath("dnsmasq")
	if err != nil {
		t.Fatalf("%v: install dnsmasq-base (make deps)", err)
	}
	http := []string{"dhcp-vendorclass=set:efihttp,HTTPClient", "dhcp-option-force=tag:efihttp,60,HTTPClient",
		"dhcp-boot=tag:efihttp,http://10.0.0.1:5000/boot/mode.efi"}
	for _, on := range []bool{false, true} {
		dir := t.TempDir()
		if _, err := media.WritePXE(dir, "10.0.0.1:5000", "", on); err != nil {
			t.Fatal(err)
		}
		conf, err := os.ReadFile(filepath.Join(dir, "dnsmasq.conf"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(conf), "\n")
		has := func(l string) bool {
			for _, x := range lines {
				if x == l {
					return true
				}
			}
			return false
		}
		for _, l := range http {
			if on && !has(l) || !on && !has("# "+l) {
				t.Errorf("http-boot %v: dnsmasq.conf lacks %q:\n%s", on, map[bool]string{false: "# " + l, true: l}[on], conf)
			}
			if !on && has(l) {
				t.Errorf("without --http-boot, %q is in force:\n%s", l, conf)
			}
		}
		for _, l := range lines {
			if on && strings.HasPrefix(l, "dhcp-boot=tag:!ipxe,") && !strings.Contains(l, "tag:!efihttp,") {
				t.Errorf("http-boot: %q would answer an HTTP boot client too", l)
			}
		}
		if out, err := exec.Command(dnsmasq, "--test", "--conf-file="+filepath.Join(dir, "dnsmasq.conf")).CombinedOutput(); err != nil {
			t.Errorf("http-boot %v: dnsmasq --test: %v: %s", on, err, out)
		}
	}
}
