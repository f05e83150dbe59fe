package media_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mode-build/mode/boot/initramfs"
	"github.com/mode-build/mode/boot/media"
	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
)

// TestBootDebianKernel builds examples/debian up to kernel (console plus
// Debian's linux-image-amd64; into .cache/e2e/debian, or $MODE_DEBIAN_DIR)
// and boots it with its own kernel, taken from the chain with the modules the
// init needs: from the ISO under UEFI and from the raw disk under BIOS. In
// the booted system /lib/modules/$(uname -r) exists and modprobe loads a
// module that is not in the initramfs. Slow under TCG (a generic kernel and
// systemd): two boots only; then tiny's ISO with that kernel as a USB stick.
func TestBootDebianKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Debian chain and boots it: not with -short")
	}
	testutil.RequiresRoot(t)
	testutil.RequiresQEMU(t)
	dir := os.Getenv("MODE_DEBIAN_DIR")
	if dir == "" {
		dir = filepath.Join(testutil.RepoRoot(t), ".cache", "e2e", "debian")
	}
	out := filepath.Join(dir, "out")
	testutil.BuildExample(t, "debian", out, filepath.Join(dir, "store"), "kernel")
	im, err := media.FromDir(out, "kernel")
	if err != nil {
		t.Fatal(err)
	}
	k, err := media.FindKernel(context.Background(), im.Layers, t.TempDir())
	if err != nil || k == nil {
		t.Fatalf("the kernel chain has no kernel: %v", err)
	}
	bins := testutil.Binaries(t)
	im.Kernel, im.Initrd = k.Vmlinuz, filepath.Join(t.TempDir(), "initrd.img")
	res, err := initramfs.BuildFile(context.Background(), initramfs.Options{
		Init: filepath.Join(bins, "mode-init"), Mode: filepath.Join(bins, "mode"), Busybox: initramfs.HostBusybox, KernelModules: k.Modules,
	}, im.Initrd)
	if err != nil {
		t.Fatal(err)
	}
	const probe = "dummy" // drivers/net/dummy.ko: no init needs it
	for _, m := range res.Modules {
		if m == probe {
			t.Fatalf("the initramfs carries %s", probe)
		}
	}
	im.Append = `systemd.run="/bin/sh /dev/vda" systemd.run_success_action=none systemd.run_failure_action=none`
	check := script(t, `
test -d /lib/modules/$(uname -r)/kernel || echo "MEDIA-FAIL: no /lib/modules/$(uname -r)"
grep -q "^`+probe+` " /proc/modules && echo "MEDIA-FAIL: `+probe+` loaded already"
modprobe `+probe+` && grep -q "^`+probe+` " /proc/modules && echo "modprobe `+probe+`: loaded"
echo "running $(uname -r)"
echo MEDIA-DEBIAN-DONE`)
	for _, tc := range []struct {
		name, format, as string
		uefi             bool
	}{
		{"ISO UEFI", "iso", "cdrom", true},
		{"disk BIOS", "disk", "disk", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "debian."+tc.format)
			if err := media.Write(context.Background(), tc.format, im, file); err != nil {
				t.Fatal(err)
			}
			m := qemu.Machine{Medium: &qemu.Medium{File: file, As: tc.as, Writable: tc.format == "disk"}, UEFI: tc.uefi, Disks: []qemu.Disk{check}, MemoryMiB: 1024}
			bootDebian(t, m, "MEDIA-DEBIAN-DONE", "running "+k.Version, "modprobe "+probe+": loaded", "mode-init: switching root to /sbin/init")
		})
	}
	// Debian's generic kernel has USB drivers (the cloud kernel has none):
	// tiny's ISO with it boots from a USB stick on xHCI under BIOS.
	t.Run("tiny ISO as USB stick", func(t *testing.T) {
		tiny := tinyImage(t, "")
		tiny.Kernel, tiny.Initrd = im.Kernel, im.Initrd
		iso := filepath.Join(t.TempDir(), "tiny.iso")
		if err := media.Write(context.Background(), "iso", tiny, iso); err != nil {
			t.Fatal(err)
		}
		m := qemu.Machine{Medium: &qemu.Medium{File: iso, As: "usb"}}
		boot(t, m, "MODE-TINY-OK", "USB Mass Storage device detected", "in LABEL="+tiny.Label("iso")+":/mode")
	})
}
