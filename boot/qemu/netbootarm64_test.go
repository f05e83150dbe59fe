package qemu_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/netboot"
	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/site"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/registry/trust"
)

// TestNetbootArm64 (root, QEMU TCG; make test): an arm64 machine
// (qemu-system-aarch64 -M virt, AAVMF with Secure Boot off) netboots from
// mode serve by UEFI HTTP boot of /boot/arm64/tiny/multi/bootaa64.efi:
// GRUB's arm64-efi image, whose built-in configuration fetches Debian's
// arm64 kernel and mode's arm64 initramfs over HTTP from the same server
// and boots mode.ref=…/tiny:multi, an index of tiny for amd64 and arm64
// pushed to that server and signed (mode push --sign; the server's
// initramfs trusts the key): the init takes the index's arm64 entry, checks
// its signature, mounts its layers through dm-verity, and tiny reaches its
// marker; the machine's boot report, sent with its own token, is on the
// server. QEMU's DHCP offers no HTTPClient class: the boot entry (the
// URI) is put in the machine's variable store (qemu.AddBootURI on
// qemu.BlankVars), as in TestNetbootSecureBoot.
func TestNetbootArm64(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresQEMUArm64(t)
	testutil.ModeArm64(t) // mode-arm64 beside the mode serving: the init of the arm64 initramfs
	bins := testutil.Binaries(t)
	built := filepath.Join(t.TempDir(), "built")
	for _, arch := range []string{"amd64", "arm64"} {
		cmd := exec.Command(filepath.Join(bins, "mode"), "build", "--dir", filepath.Join(testutil.RepoRoot(t), "examples", "tiny"),
			"--out", filepath.Join(t.TempDir(), "out"), "--store", built, "--arch", arch)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build tiny --arch %s: %v\n%s", arch, err, b)
		}
	}
	bs, err := store.Open(built)
	if err != nil {
		t.Fatal(err)
	}
	_, _, arm, err := bs.Chain("tiny", "extra-arm64")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("MODE_KERNEL_DIR", testutil.KernelDir(t)) // mode serve fetches the arm64 kernel and GRUB there, once
	// Signed: the served initramfs trusts the site's key, so the arm64 init
	// requires the signature of the index's arm64 entry and mounts every
	// layer through dm-verity (mode.verify=require, the default with keys).
	keyFile, pubFile, err := trust.WriteKeyPair(filepath.Join(t.TempDir(), "site"), nil)
	if err != nil {
		t.Fatal(err)
	}
	base := modeServe(t, filepath.Join(t.TempDir(), "store"), "s3cret", "--advertise", "10.0.2.2",
		"--reports-db", filepath.Join(t.TempDir(), "reports.db"), "--trust", pubFile)
	host := strings.TrimPrefix(base, "http://")
	if b, err := exec.Command(filepath.Join(bins, "mode"), "push", "--token", "s3cret", "--store", built, "--platform", "amd64,arm64",
		"--sign", keyFile, "tiny:extra", host+"/tiny:multi").CombinedOutput(); err != nil {
		t.Fatalf("push --platform amd64,arm64: %v\n%s", err, b)
	}
	vars, err := qemu.BlankVars(qemu.AAVMFSnakeoilVars, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	uri := "http://10.0.2.2:" + base[strings.LastIndex(base, ":")+1:] + "/boot/arm64/tiny/multi/" + netboot.GrubFile
	if err := qemu.AddBootURI(vars, "mode HTTP boot", uri); err != nil {
		t.Fatal(err)
	}
	const mac = "52:54:00:00:0a:64"
	m := qemu.Machine{Arch: "arm64", HTTPBoot: true, EFIVars: vars, MemoryMiB: 1024, MAC: mac}
	res, err := qemu.Run(context.Background(), m, qemu.Watch{
		Expect: "MODE-TINY-OK", Fail: []string{"mode-init: FAILED", "MODE-TINY-FAIL", "grub> ", "you need to load the kernel first"}, Timeout: 12 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("arm64 HTTP boot of GRUB from mode serve to tiny's marker in %.0fs", res.Elapsed.Seconds())
	// GRUB asked grub.cfg again with its MAC: the machine reported its boot
	// with its own token.
	var ms []site.Machine
	apiGet(t, base+"/api/machines", &ms)
	if len(ms) != 1 || ms[0].ID != mac || ms[0].Last == nil || !ms[0].Last.OK || ms[0].Last.Digest != arm.String() {
		t.Errorf("machines after the arm64 boot: %+v; want %s's boot report of %s", ms, mac, arm)
		logLines(t, res.Console, "report", "mode.ref=", "mode: ")
	}
	for _, want := range []string{`BdsDxe: starting Boot0100 "mode HTTP boot"`, "mode: tiny:multi from 10.0.2.2:",
		"mode.ref=10.0.2.2:", "base-essential-console-extra " + arm.String()[:19], ": the arm64 chain " + arm.String()[:19], ": signed by key "} {
		if !strings.Contains(res.Console, want) {
			t.Errorf("console lacks %q:\n%s", want, res.Console)
		}
	}
}
