package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/testutil"
)

// TestImageArm64ISO (root, QEMU TCG; make test): tiny built for arm64 is
// written as an ISO and a disk for arm64 UEFI machines (mode image --arch
// arm64: GRUB arm64-efi as /EFI/BOOT/BOOTAA64.EFI, Debian's arm64 cloud
// kernel, mode's arm64 initramfs), and the ISO boots to tiny's marker under
// qemu-system-aarch64 -M virt with AAVMF, from its GRUB menu with the
// layers found on the CD by label. The disk's table and ESP are checked;
// its boot is TestBootArm64Disk's (make test-arm64).
func TestImageArm64ISO(t *testing.T) {
	iso, disk := arm64Media(t)
	if b, err := exec.Command("xorriso", "-indev", iso, "-report_el_torito", "plain").CombinedOutput(); err != nil ||
		!strings.Contains(string(b), "El Torito boot img :   1  UEFI") || strings.Contains(string(b), "BIOS") {
		t.Errorf("El Torito of the arm64 ISO: want one UEFI entry, no BIOS: %v\n%s", err, b)
	}
	if b, err := exec.Command("sgdisk", "-v", disk).CombinedOutput(); err != nil || !strings.Contains(string(b), "No problems found") {
		t.Errorf("sgdisk -v %s: %v\n%s", disk, err, b)
	}
	esp := disk + "@@" + "2097152" // partition 2 at 4096 sectors
	cmd := exec.Command("mdir", "-b", "-i", esp, "::/EFI/BOOT")
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	if b, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(b)) != "::/EFI/BOOT/BOOTAA64.EFI" {
		t.Errorf("the disk's ESP /EFI/BOOT: %v\n%s", err, b)
	}
	start := time.Now()
	b, err := modeCmd("boot", "--arch", "arm64", "--expect", "MODE-TINY-OK", "--timeout", "10m", iso).CombinedOutput()
	if err != nil {
		t.Fatalf("boot --arch arm64 %s: %v\n%s", iso, err, b)
	}
	t.Logf("arm64 ISO through AAVMF and GRUB to the marker: %.0fs", time.Since(start).Seconds())
	for _, want := range []string{"qemu-system-aarch64", "AAVMF_CODE.fd", "scsi-cd", "mode.from=LABEL=MODE_", "console=ttyAMA0"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("boot output lacks %q:\n%s", want, b)
		}
	}
}

// arm64Media builds tiny for arm64 into a store and writes its extra chain
// as an ISO and a disk image with mode image --arch arm64.
func arm64Media(t *testing.T) (iso, disk string) {
	testutil.RequiresRoot(t)
	testutil.RequiresQEMUArm64(t)
	testutil.RequiresTools(t, "xorriso", "sgdisk", "mdir", "grub-mkimage")
	start := time.Now()
	bin := testutil.ModeArm64(t)
	t.Logf("mode for arm64 built in %.0fs", time.Since(start).Seconds())
	start = time.Now()
	store, dir := t.TempDir(), t.TempDir()
	if b, err := modeCmd("build", "--dir", "../../examples/tiny", "--out", t.TempDir(), "--store", store, "--arch", "arm64").CombinedOutput(); err != nil {
		t.Fatalf("build arm64: %v\n%s", err, b)
	}
	iso, disk = filepath.Join(dir, "tiny.iso"), filepath.Join(dir, "tiny.img")
	initrd := filepath.Join(dir, "initrd.img")
	// The ISO's initramfs is built by mode image; the disk takes it again
	// (--initrd), which saves a build (zstd -19).
	for _, f := range []struct {
		format, out string
		more        []string
	}{{"iso", iso, nil}, {"disk", disk, []string{"--initrd", initrd}}} {
		cmd := modeCmd(append([]string{"image", "--store", store, "--arch", "arm64", "--mode-binary", bin, "-f", f.format, "-o", f.out, "tiny:extra-arm64"}, f.more...)...)
		cmd.Env = append(cmd.Env, "MODE_KERNEL_DIR="+testutil.KernelDir(t))
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("image --arch arm64 -f %s: %v\n%s", f.format, err, b)
		}
		if f.format == "iso" {
			if b, err := exec.Command("xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/boot/initrd.img", initrd).CombinedOutput(); err != nil {
				t.Fatalf("xorriso -extract /boot/initrd.img: %v\n%s", err, b)
			}
		}
	}
	t.Logf("tiny for arm64 built and written as an ISO and a disk in %.0fs", time.Since(start).Seconds())
	return iso, disk
}

// TestBootArm64Disk (make test-arm64): the disk image of tiny for arm64
// boots through AAVMF from its ESP's GRUB to the marker, its layers on the
// ext4 data partition, its changes on the same partition (mode.changes).
func TestBootArm64Disk(t *testing.T) {
	_, disk := arm64Media(t)
	start := time.Now()
	b, err := modeCmd("boot", "--arch", "arm64", "--expect", "MODE-TINY-OK", "--timeout", "10m", disk).CombinedOutput()
	if err != nil {
		t.Fatalf("boot --arch arm64 %s: %v\n%s", disk, err, b)
	}
	t.Logf("arm64 disk through AAVMF and GRUB to the marker: %.0fs", time.Since(start).Seconds())
	for _, want := range []string{"virtio-blk-pci", "mode.changes=LABEL=MODE_"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("boot output lacks %q:\n%s", want, b)
		}
	}
}
