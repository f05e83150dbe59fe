package pxe

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
)

// TestPXEHTTPBootSecureBoot (make test-secureboot) is
// TestPXEBootBesideSiteDHCP under Secure Boot: OVMF's Secure Boot build
// with Debian's snakeoil key in db, the NIC without iPXE and the firmware's
// PXE off, so the firmware HTTP-boots. The site's DHCP server gives the
// address, `mode serve --pxe br0 --secure-boot-key` answers the HTTPClient
// request with /boot/mode.efi, the chain's UKI signed with the snakeoil key,
// which the firmware verifies and tiny boots to its marker.
//
//	ns lan:  br0 10.232.0.1/24 (mode serve) ── tap0 (QEMU)
//	          └── veth lan-dhcp ══ dhcp0 10.232.0.2/24 in ns dhcp (site DHCP)
func TestPXEHTTPBootSecureBoot(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresQEMU(t)
	testutil.RequiresTools(t, "ip", "sbsign", "objcopy", "openssl")
	storeDir := filepath.Join(t.TempDir(), "store")
	testutil.BuildTiny(t, filepath.Join(t.TempDir(), "out"), storeDir)
	kernel, initrd := testutil.Kernel(t).Vmlinuz, testutil.Initramfs(t)
	key := filepath.Join(t.TempDir(), "snakeoil.key") // sbsign reads it unencrypted
	if out, err := exec.Command("openssl", "pkey", "-in", qemu.OVMFSnakeoilKey, "-passin", "pass:snakeoil", "-out", key).CombinedOutput(); err != nil {
		t.Fatalf("openssl pkey: %v\n%s (install ovmf)", err, out)
	}

	lan, site := siteLAN(t, "mode-http")
	siteDHCP(t, site) // 10.232.0.x: what siteDHCP hands out

	logs := serveInLAN(t, lan, storeDir, "--boot-chain", "tiny:extra", "--kernel", kernel, "--initrd", initrd,
		"--secure-boot-key", key, "--secure-boot-cert", qemu.OVMFSnakeoilCert)
	wrapper := qemuInLAN(t, lan)
	vars, err := qemu.CopyVars(qemu.OVMFSnakeoilVars, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const mac = "52:54:00:23:30:01"
	m := qemu.Machine{Binary: wrapper, Tap: "tap0", MAC: mac, SecureBootVars: vars, HTTPBoot: true, MemoryMiB: 1024}
	res, err := qemu.Run(context.Background(), m, qemu.Watch{
		Expect: "MODE-TINY-OK", Fail: []string{"MODE-TINY-FAIL", "mode-init: FAILED", "Access Denied"}, Timeout: 8 * time.Minute,
	})
	if err != nil {
		t.Fatalf("%v\nmode serve:\n%s", err, logs.String())
	}
	t.Logf("HTTP boot through the proxy under Secure Boot: tiny's marker in %s", res.Elapsed.Round(time.Second))
	if want := `msg="pxe: answered" mac=` + mac + " type=OFFER file=http://10.232.0.1:5000/boot/mode.efi"; !strings.Contains(logs.String(), want) {
		t.Errorf("mode serve's log lacks %q:\n%s", want, logs.String())
	}
	if !strings.Contains(res.Console, "Secure boot enabled") {
		t.Errorf("the console lacks Secure boot enabled:\n%s", res.Console)
	}
}
