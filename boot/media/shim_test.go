package media_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/media"
	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/boot/uki"
	"github.com/mode-build/mode/internal/testutil"
)

// requiresSignedChain fails unless Debian's signed shim and GRUB and the
// Secure Boot firmware with Microsoft's keys are here (make deps).
func requiresSignedChain(t testing.TB) {
	t.Helper()
	requiresSecureBoot(t)
	if err := media.HasSignedChain(); err != nil {
		t.Fatalf("%v (make deps)", err)
	}
	if _, err := os.Stat(qemu.OVMFMicrosoftVars); err != nil {
		t.Fatalf("%v: install ovmf (make deps)", err)
	}
}

// msMachine boots medium as a virtio disk under OVMF's Secure Boot build
// with Microsoft's keys enrolled (what PCs ship with).
func msMachine(t *testing.T, medium string, disks ...qemu.Disk) qemu.Machine {
	t.Helper()
	vars, err := qemu.CopyVars(qemu.OVMFMicrosoftVars, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return qemu.Machine{Medium: &qemu.Medium{File: medium, As: "virtio"}, SecureBootVars: vars, Disks: disks}
}

// kernelModule is the module file of the test kernel at path under
// kernel/ (drivers/net/dummy.ko): signed by Debian.
func kernelModule(t *testing.T, path string) string {
	t.Helper()
	k := testutil.Kernel(t)
	f := filepath.Join(filepath.Dir(filepath.Dir(k.Vmlinuz)), "lib", "modules", k.Version, "kernel", path)
	if _, err := os.Stat(f); err != nil {
		t.Fatal(err)
	}
	return f
}

// stripModuleSignature is the module b without its appended signature
// (struct module_signature, 12 bytes, the signature's length in its last
// four, big-endian; then "~Module signature appended~\n").
func stripModuleSignature(t *testing.T, b []byte) []byte {
	t.Helper()
	const magic = "~Module signature appended~\n"
	if !strings.HasSuffix(string(b), magic) || len(b) < len(magic)+12 {
		t.Fatal("the module is not signed")
	}
	end := len(b) - len(magic) - 12
	n := int(binary.BigEndian.Uint32(b[len(b)-len(magic)-4:]))
	if n > end {
		t.Fatal("module signature longer than the module")
	}
	return b[:end-n]
}

// moduleDisk is a raw disk holding the module files of files, each at a
// 4096-byte boundary, and the script that copies them out of /dev/DEV to
// /tmp/NAME.ko.
func moduleDisk(t *testing.T, dev string, files map[string][]byte) (qemu.Disk, string) {
	t.Helper()
	var data []byte
	var sh strings.Builder
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b := files[n]
		fmt.Fprintf(&sh, "dd if=/dev/%s bs=4096 skip=%d 2>/dev/null | head -c %d > /tmp/%s.ko\n", dev, len(data)/4096, len(b), n)
		data = append(data, b...)
		data = append(data, make([]byte, 4096-len(b)%4096)...)
	}
	f := filepath.Join(t.TempDir(), "modules.img")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return qemu.Disk{File: f, ReadOnly: true}, sh.String()
}

// lockdownCheck runs in the booted tiny under Secure Boot with the modules
// of moduleDisk in /tmp: the kernel is locked down, dummy without its
// signature is refused, Debian's signed dummy.ko and efivarfs.ko (neither
// in the initramfs) load, and the firmware's SecureBoot variable is 1. It
// ends with SB-CHECK-OK, or MEDIA-FAIL naming what failed.
const lockdownCheck = `
mount -t sysfs sysfs /sys 2>/dev/null
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
fail=""
grep -q efivarfs /proc/filesystems || insmod /tmp/efivarfs.ko || fail="$fail [insmod efivarfs]"
mount -t efivarfs efivarfs /sys/firmware/efi/efivars || fail="$fail [mount efivarfs]"
sb=$(od -An -tu1 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c | tr -s ' ' | sed 's/ *$//')
echo "SecureBoot variable: $sb"
case "$sb" in *" 1") ;; *) fail="$fail [SecureBoot variable]" ;; esac
echo "lockdown: $(cat /sys/kernel/security/lockdown)"
grep -q '\[integrity\]\|\[confidentiality\]' /sys/kernel/security/lockdown || fail="$fail [lockdown]"
if insmod /tmp/unsigned.ko; then fail="$fail [an unsigned module loaded]"; else echo "unsigned module refused"; fi
if insmod /tmp/signed.ko && test -d /sys/module/dummy; then echo "signed module dummy loaded"; else fail="$fail [insmod dummy]"; fi
if [ -z "$fail" ]; then echo SB-CHECK-OK; else echo "MEDIA-FAIL:$fail"; fi
`

// TestBootShimMicrosoft is issue 21's Microsoft-key boot: the CLI writes
// tiny (signed in the store, the initramfs trusting only that key: the
// init's require policy, every layer through dm-verity) as a disk, and
// media.Write tiny as an ISO, with their default UEFI boot, Debian's shim
// and GRUB, and both boot under OVMF's Secure Boot build with Microsoft's
// keys: shim verifies GRUB and the kernel (Debian's signed cloud kernel). On the disk, the booted
// system is locked down: a module without its signature is refused, Debian's
// signed dummy.ko, which is not in the initramfs, loads.
func TestBootShimMicrosoft(t *testing.T) {
	requiresSignedChain(t)
	im, storeDir, pubFile, pubs := signedTinyStore(t)
	k := testutil.Kernel(t)
	dir := t.TempDir()
	img, iso := filepath.Join(dir, "tiny.img"), filepath.Join(dir, "tiny.iso")
	cmd := exec.Command(filepath.Join(testutil.Binaries(t), "mode"), "image", "tiny:extra", "--store", storeDir, "-f", "disk", "-o", img,
		"--kernel", k.Vmlinuz, "--kernel-modules", k.Deb, "--trust", pubFile, "--append", "tiny.run=/dev/vdb")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "warning") {
		t.Fatalf("mode image -f disk: %v\n%s", err, out)
	}
	// The ISO without --trust (the same UEFI boot; one initramfs build less).
	if err := media.Write(context.Background(), "iso", im, iso); err != nil {
		t.Fatal(err)
	}
	checkDisk(t, img)
	ca := filepath.Join(dir, "debian-ca.pem")
	if err := media.ShimVendorCert(media.ShimSigned, ca); err != nil {
		t.Fatal(err)
	}
	grub := filepath.Join(dir, "grubx64.efi")
	espFile(t, img, "/EFI/BOOT/grubx64.efi", grub, false)
	for _, f := range []string{grub, k.Vmlinuz} {
		if err := uki.Verify(context.Background(), ca, f); err != nil {
			t.Errorf("against shim's CA: %v", err)
		}
	}
	cfg := filepath.Join(dir, "grub.cfg")
	espFile(t, img, "/EFI/debian/grub.cfg", cfg, false)
	if b, _ := os.ReadFile(cfg); !strings.Contains(string(b), "--file /boot/grub/mode-") || !strings.Contains(string(b), "configfile") {
		t.Errorf("/EFI/debian/grub.cfg does not find the medium:\n%s", b)
	}

	dummy, err := os.ReadFile(kernelModule(t, "drivers/net/dummy.ko"))
	if err != nil {
		t.Fatal(err)
	}
	efivarfs, err := os.ReadFile(kernelModule(t, "fs/efivarfs/efivarfs.ko"))
	if err != nil {
		t.Fatal(err)
	}
	mods, copyOut := moduleDisk(t, "vdc", map[string][]byte{
		"signed": dummy, "unsigned": stripModuleSignature(t, dummy), "efivarfs": efivarfs})
	t.Run("disk", func(t *testing.T) {
		boot(t, msMachine(t, img, script(t, copyOut+lockdownCheck), mods), "SB-CHECK-OK",
			"EFI stub: UEFI Secure Boot is enabled.", "secureboot: Secure boot enabled",
			"Kernel is locked down from EFI Secure Boot", ": signed by key "+pubs[0].ID, "MODE-TINY-OK",
			"unsigned module refused", "signed module dummy loaded")
	})
	t.Run("ISO", func(t *testing.T) {
		boot(t, msMachine(t, iso), "MODE-TINY-OK", "secureboot: Secure boot enabled", "in LABEL="+im.Label("iso")+":/mode")
	})
}

// TestSignedChainWarning: Debian's signed cloud kernel passes the check
// against the CA built into shim; the same kernel with its signature
// removed (sbattach --remove) is named in the warning; a UKI medium is the
// site's key's business.
func TestSignedChainWarning(t *testing.T) {
	testutil.RequiresTools(t, "sbattach", "sbverify")
	if err := media.HasSignedChain(); err != nil {
		t.Fatalf("%v (make deps)", err)
	}
	k := testutil.Kernel(t)
	im := &media.Image{Kernel: k.Vmlinuz}
	if w := media.SignedChainWarning(context.Background(), im, t.TempDir()); w != "" {
		t.Errorf("Debian's signed kernel: %s", w)
	}
	unsigned := filepath.Join(t.TempDir(), "vmlinuz-unsigned")
	if out, err := exec.Command("cp", k.Vmlinuz, unsigned).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	if out, err := exec.Command("sbattach", "--remove", unsigned).CombinedOutput(); err != nil {
		t.Fatalf("sbattach --remove: %v\n%s", err, out)
	}
	im.Kernel = unsigned
	w := media.SignedChainWarning(context.Background(), im, t.TempDir())
	if !strings.Contains(w, "kernel "+unsigned+" is not signed by the CA shim trusts") {
		t.Errorf("unsigned kernel: warning %q", w)
	}
	im.SecureBoot = &media.SecureBoot{}
	if w := media.SignedChainWarning(context.Background(), im, t.TempDir()); w != "" {
		t.Errorf("UKI: %s", w)
	}
}

// TestBootShimRefused (make test-secureboot): a disk whose kernel has no
// signature (Debian's cloud kernel after sbattach --remove) is refused
// under Secure Boot with Microsoft's keys by shim's verifier, through GRUB,
// which says so on the console; the kernel never runs.
func TestBootShimRefused(t *testing.T) {
	testutil.RequiresTools(t, "sbattach")
	requiresSignedChain(t)
	im := tinyImage(t, "")
	unsigned := filepath.Join(t.TempDir(), "vmlinuz-unsigned")
	if out, err := exec.Command("cp", im.Kernel, unsigned).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	if out, err := exec.Command("sbattach", "--remove", unsigned).CombinedOutput(); err != nil {
		t.Fatalf("sbattach --remove: %v\n%s", err, out)
	}
	im.Kernel = unsigned
	img := filepath.Join(t.TempDir(), "tiny.img")
	if err := media.Write(context.Background(), "disk", im, img); err != nil {
		t.Fatal(err)
	}
	res, err := qemu.Run(context.Background(), msMachine(t, img), qemu.Watch{
		Expect: "bad shim signature", Timeout: 4 * time.Minute, Fail: []string{"EFI stub:", "Linux version"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("refused after %.1fs", res.Elapsed.Seconds())
}
