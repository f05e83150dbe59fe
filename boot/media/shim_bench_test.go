package media_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/media"
	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/store"
)

// benchTiny is examples/tiny's chain as an image with the test kernel and
// mode's initramfs.
func benchTiny(b *testing.B) *media.Image {
	b.Helper()
	storeDir := filepath.Join(b.TempDir(), "store")
	testutil.BuildTiny(b, filepath.Join(b.TempDir(), "out"), storeDir)
	s, err := store.Open(storeDir)
	if err != nil {
		b.Fatal(err)
	}
	im, err := media.FromStore(s, "extra")
	if err != nil {
		b.Fatal(err)
	}
	im.Kernel, im.Initrd = testutil.Kernel(b).Vmlinuz, testutil.Initramfs(b)
	return im
}

// BenchmarkBootShim boots examples/tiny's disk (virtio, the same image
// every time) to MODE-TINY-OK under BIOS (SeaBIOS, GRUB), under UEFI with
// Secure Boot off (plain OVMF: shim, GRUB, the kernel, nothing verified)
// and under Secure Boot with Microsoft's keys (OVMF's Secure Boot build
// on q35 with SMM: shim verified by the firmware, GRUB and the kernel by
// shim, the kernel locked down): what Secure Boot costs a boot, in seconds
// to the marker (QEMU TCG).
func BenchmarkBootShim(b *testing.B) {
	requiresSignedChain(b)
	testutil.RequiresRoot(b)
	im := benchTiny(b)
	img := filepath.Join(b.TempDir(), "tiny.img")
	if err := media.Write(context.Background(), "disk", im, img); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		m    func() qemu.Machine
	}{
		{"bios", func() qemu.Machine { return qemu.Machine{} }},
		{"uefi", func() qemu.Machine { return qemu.Machine{UEFI: true} }},
		{"secureboot", func() qemu.Machine {
			vars, err := qemu.CopyVars(qemu.OVMFMicrosoftVars, b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			return qemu.Machine{SecureBootVars: vars}
		}},
	} {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			m := c.m()
			m.Medium, m.MemoryMiB = &qemu.Medium{File: img, As: "virtio"}, 512
			res, err := qemu.Run(context.Background(), m, qemu.Watch{
				Expect: "MODE-TINY-OK", Line: true, Timeout: 6 * time.Minute, Fail: []string{"mode-init: FAILED", "MODE-TINY-FAIL"},
			})
			if err != nil {
				b.Fatalf("%s: %v", c.name, err)
			}
			total += res.Elapsed
		}
		b.ReportMetric(total.Seconds()/float64(b.N), "s-"+c.name)
	}
}
