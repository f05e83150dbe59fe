package qemu_test

import (
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/fleet"
	"github.com/mode-build/mode/registry/site"
	"github.com/mode-build/mode/report"
)

// installSite serves tiny's chains with a site file whose two rules install
// tiny:extra to the disk of serial INSTALL-1 (machine 0f:11, by the rule
// alone: auto) and KEEP-1 (machine 0f:12, by an action, no wiping); it
// returns the server's URL and its port.
func installSite(t *testing.T) (base, port string) {
	t.Helper()
	storeDir := filepath.Join(t.TempDir(), "store")
	testutil.BuildTiny(t, filepath.Join(t.TempDir(), "out"), storeDir)
	siteFile := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(siteFile, []byte(`rules:
  - {name: default, chain: tiny:console}
  - name: installed
    match: {mac: "52:54:00:00:0f:11"}
    chain: tiny:extra
    install: {disk: {serial: INSTALL-1, min_size: 256MiB}, auto: true}
  - name: keep
    match: {mac: "52:54:00:00:0f:12"}
    chain: tiny:extra
    install: {disk: {serial: KEEP-1}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	base = modeServe(t, storeDir, "s3cret", "--site-file", siteFile, "--advertise", "10.0.2.2", "--admin-token", "adm1n",
		"--kernel", testutil.Kernel(t).Vmlinuz, "--initrd", testutil.Initramfs(t))
	return base, base[strings.LastIndex(base, ":")+1:]
}

// serialDisk attaches file as a virtio disk with a serial number.
func serialDisk(file, serial string) []string {
	return []string{"-drive", "file=" + file + ",if=none,id=d0,format=raw", "-device", "virtio-blk-pci,drive=d0,serial=" + serial}
}

// blankDisk makes a sparse file of mib MiB.
func blankDisk(t *testing.T, mib int64) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "disk.raw")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(f, mib<<20); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestInstallToDisk: a machine whose rule installs tiny:extra by itself
// (install: {auto: true}, no action asked for) netboots the installer, which
// picks its blank disk by serial among two, writes the layout of mode image
// --format disk and reboots; its install report marks the rule's install
// action done and the machine installed, and its next boot.ipxe sends it to
// its disk. Then the same disk boots with no NIC at all: its layers,
// offline, reach tiny's marker; and with the network, pulling no layer.
func TestInstallToDisk(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresQEMU(t)
	start := time.Now()
	base, port := installSite(t)
	const mac = "52:54:00:00:0f:11"
	disk, other := blankDisk(t, 512), blankDisk(t, 64)
	m := qemu.Machine{MemoryMiB: 512, MAC: mac, BootURL: "http://10.0.2.2:" + port + "/boot/boot.ipxe",
		Extra: append(serialDisk(disk, "INSTALL-1"), "-drive", "file="+other+",if=none,id=d1,format=raw", "-device", "virtio-blk-pci,drive=d1,serial=OTHER-2")}
	res, err := qemu.Run(context.Background(), m, qemu.Watch{Expect: "mode-init: INSTALLED: rebooting", Fail: []string{"mode-init: FAILED"}, Timeout: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("installed in %.1fs (QEMU)", res.Elapsed.Seconds())
	logLines(t, res.Console, "mode-init: install", "INSTALLED")
	if !strings.Contains(res.Console, "mode.install=serial:INSTALL-1,min_size:268435456") || !strings.Contains(res.Console, "/dev/vda") {
		t.Errorf("console:\n%s", res.Console)
	}
	var v fleet.MachineView
	apiGet(t, base+"/api/fleet/machines/"+mac, &v)
	if a := v.Actions[len(v.Actions)-1]; a.Kind != "install" || a.Rule != "installed" || a.State != fleet.Done || a.Report == 0 ||
		v.Installed == nil || v.Installed.Action != a.ID || v.Installed.Ref != "extra" {
		t.Errorf("after the install: action %+v, installed %+v", a, v.Installed)
	}
	// Installed: its rule now sends it to its disk (iPXE exit), no second install.
	resp, err := http.Get(base + "/boot/boot.ipxe?mac=" + mac)
	if err != nil {
		t.Fatal(err)
	}
	script, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(script), "\nexit") || strings.Contains(string(script), "mode.install") {
		t.Errorf("boot.ipxe after the install:\n%s", script)
	}
	// The installed disk, no network: the firmware boots it, the init finds
	// no NIC and boots the layers on the disk (mode.cache offline).
	res, err = qemu.Run(context.Background(), qemu.Machine{MemoryMiB: 512, Medium: &qemu.Medium{File: disk, As: "virtio", Writable: true}},
		qemu.Watch{Expect: "MODE-TINY-OK", Fail: []string{"mode-init: FAILED", "MODE-TINY-FAIL"}, Timeout: 8 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("booted the disk with no NIC in %.1fs", res.Elapsed.Seconds())
	logLines(t, res.Console, "OFFLINE", "mode-init: network")
	if !strings.Contains(res.Console, "OFFLINE") || !strings.Contains(res.Console, "mode.cache=LABEL=MODE_") {
		t.Errorf("console lacks the offline boot from the cache:\n%s", res.Console)
	}
	// With the network, netboot first and the disk after it, as the site's
	// machines are set up: its boot.ipxe says exit (its rule: installed), the
	// firmware goes on to the disk, and the disk pulls its tag again: the
	// layers whose digest did not change stay, none is downloaded.
	var before fleet.MachineView
	apiGet(t, base+"/api/fleet/machines/"+mac, &before)
	res, err = qemu.Run(context.Background(), qemu.Machine{MemoryMiB: 512, MAC: mac, BootURL: "http://10.0.2.2:" + port + "/boot/boot.ipxe",
		Medium: &qemu.Medium{File: disk, As: "virtio", Writable: true}},
		qemu.Watch{Expect: "MODE-TINY-OK", Fail: []string{"mode-init: FAILED", "MODE-TINY-FAIL", "OFFLINE"}, Timeout: 8 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("booted the disk with the network in %.1fs", res.Elapsed.Seconds())
	logLines(t, res.Console, "mode-init: pulled")
	var after fleet.MachineView
	apiGet(t, base+"/api/fleet/machines/"+mac, &after)
	if !after.LastIPXE.After(before.LastIPXE) {
		t.Errorf("the machine booted its disk without asking boot.ipxe first (last boot.ipxe %v, before the boot %v)", after.LastIPXE, before.LastIPXE)
	}
	if !strings.Contains(res.Console, "pulled 0 layers") || !strings.Contains(res.Console, "already cached") {
		t.Errorf("the online boot of the disk did not use its layers:\n%s", res.Console)
	}
	t.Logf("TestInstallToDisk: %.1fs in all", time.Since(start).Seconds())
}

// TestInstallRefused: the disk of a machine whose rule allows no wiping
// holds a partition table: the installer refuses it, the refusal is on the
// action and in the machine's reports, and the disk's bytes are unchanged.
func TestInstallRefused(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresQEMU(t)
	start := time.Now()
	base, port := installSite(t)
	const mac = "52:54:00:00:0f:12"
	disk := blankDisk(t, 512)
	if out, err := exec.Command("sgdisk", "-n", "1:2048:+64M", disk).CombinedOutput(); err != nil {
		t.Fatalf("sgdisk: %v\n%s", err, out)
	}
	before := fileHash(t, disk)
	if _, err := fleet.PostAction(context.Background(), nil, base, "adm1n", mac, fleet.ActionRequest{Kind: "reinstall"}); err != nil {
		t.Fatal(err)
	}
	m := qemu.Machine{MemoryMiB: 512, MAC: mac, BootURL: "http://10.0.2.2:" + port + "/boot/boot.ipxe", Extra: serialDisk(disk, "KEEP-1")}
	res, err := qemu.Run(context.Background(), m, qemu.Watch{Expect: "mode-init: rescue shell", Fail: []string{"INSTALLED"}, Timeout: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("refused in %.1fs (QEMU)", res.Elapsed.Seconds())
	logLines(t, res.Console, "at install")
	// The rescue shell comes after the report was sent.
	if !strings.Contains(res.Console, "FAILED at install: install refused, the disk left unchanged") ||
		!strings.Contains(res.Console, "holds a GPT partition table, and the rule does not allow wiping it") {
		t.Errorf("console:\n%s", res.Console)
	}
	if fileHash(t, disk) != before {
		t.Error("the refused disk changed")
	}
	var v fleet.MachineView
	apiGet(t, base+"/api/fleet/machines/"+mac, &v)
	a := v.Actions[len(v.Actions)-1]
	if a.State != fleet.Pending || a.ErrorReport == 0 || !strings.Contains(a.Error, "does not allow wiping") {
		t.Errorf("action after the refusal: %+v", a)
	}
	var h site.MachineHistory
	apiGet(t, base+"/api/machines/"+mac, &h)
	found := false
	for _, r := range h.History {
		found = found || r.Kind == report.KindInstall && !r.OK && r.Failed != nil && strings.Contains(r.Failed.Message, "GPT")
	}
	if !found {
		t.Errorf("no refused install report in %+v", h.History)
	}
	// The machine's page shows the pending action with the refusal.
	resp, err := http.Get(base + "/machines/" + mac)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "reinstall tiny:extra") || !strings.Contains(string(page), "does not allow wiping it") {
		t.Errorf("the machine's page lacks the refused action:\n%s", page)
	}
	t.Logf("TestInstallRefused: %.1fs in all", time.Since(start).Seconds())
}

func fileHash(t *testing.T, file string) [32]byte {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}
