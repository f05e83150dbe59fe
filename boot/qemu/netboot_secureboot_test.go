package qemu_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/boot/uki"
	"github.com/mode-build/mode/internal/testutil"
)

// TestNetbootSecureBoot: a UEFI machine with Secure Boot on (OVMF's Secure
// Boot build, Debian's snakeoil key in db) HTTP-boots mode serve's
// /boot/mode.efi, tiny's chain as a unified kernel image signed with that
// key (serve --secure-boot-key): the firmware verifies it, the kernel says
// Secure Boot is on, and tiny boots to its marker. The same boot from a
// server whose key is not in db is refused by the firmware. The machine's
// boot entry (the URI) is put in its variable store (qemu.AddBootURI): QEMU's
// DHCP offers no HTTPClient class, which a site's DHCP server would.
func TestNetbootSecureBoot(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU twice: not with -short")
	}
	testutil.RequiresRoot(t)
	testutil.RequiresQEMU(t)
	testutil.RequiresTools(t, "sbsign", "objcopy", "openssl")
	for _, f := range []string{uki.Stub, qemu.OVMFSecureCode, qemu.OVMFSnakeoilVars, qemu.OVMFSnakeoilKey} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%v: install systemd-boot-efi and ovmf (make deps)", err)
		}
	}
	storeDir := filepath.Join(t.TempDir(), "store")
	testutil.BuildTiny(t, filepath.Join(t.TempDir(), "out"), storeDir)
	key := filepath.Join(t.TempDir(), "snakeoil.key") // sbsign reads it unencrypted
	if out, err := exec.Command("openssl", "pkey", "-in", qemu.OVMFSnakeoilKey, "-passin", "pass:snakeoil", "-out", key).CombinedOutput(); err != nil {
		t.Fatalf("openssl pkey: %v\n%s", err, out)
	}
	other, err := uki.WriteKey(filepath.Join(t.TempDir(), "other"), "a key not in db")
	if err != nil {
		t.Fatal(err)
	}
	serveSigned := func(key, cert string) string {
		base := modeServe(t, storeDir, "s3cret", "--advertise", "10.0.2.2", "--boot-chain", "extra",
			"--kernel", testutil.Kernel(t).Vmlinuz, "--initrd", testutil.Initramfs(t),
			"--secure-boot-key", key, "--secure-boot-cert", cert, "--reports-db", filepath.Join(t.TempDir(), "reports.db"))
		return "http://10.0.2.2:" + base[strings.LastIndex(base, ":")+1:] + "/boot/mode.efi"
	}
	machine := func(uri string) qemu.Machine {
		vars, err := qemu.CopyVars(qemu.OVMFSnakeoilVars, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if err := qemu.AddBootURI(vars, "mode HTTP boot", uri); err != nil {
			t.Fatal(err)
		}
		return qemu.Machine{SecureBootVars: vars, HTTPBoot: true, MemoryMiB: 1024}
	}

	res, err := qemu.Run(context.Background(), machine(serveSigned(key, qemu.OVMFSnakeoilCert)), qemu.Watch{
		Expect: "MODE-TINY-OK", Fail: []string{"mode-init: FAILED", "MODE-TINY-FAIL", "Access Denied"}, Timeout: 8 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("HTTP boot under Secure Boot to tiny's marker in %.1fs", res.Elapsed.Seconds())
	for _, want := range []string{`BdsDxe: starting Boot0100 "mode HTTP boot"`, "Secure boot enabled", "mode.ref=10.0.2.2:"} {
		if !strings.Contains(res.Console, want) {
			t.Errorf("console lacks %q:\n%s", want, res.Console)
		}
	}

	res, err = qemu.Run(context.Background(), machine(serveSigned(other.Key, other.Cert)), qemu.Watch{
		Expect: "Access Denied", Fail: []string{"EFI stub:", "Linux version"}, Timeout: 6 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a UKI signed with a key not in db refused after %.1fs", res.Elapsed.Seconds())
	if !strings.Contains(res.Console, `BdsDxe: failed to load Boot0100 "mode HTTP boot"`) {
		t.Errorf("console lacks the firmware's refusal:\n%s", res.Console)
	}
}
