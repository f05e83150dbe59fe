package main

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/urfave/cli/v3"
)

// mediaArch makes m, a boot of a medium (FILE.iso, FILE.img), a machine of
// --arch: for arm64, qemu-system-aarch64 -M virt booting it through AAVMF,
// the medium on virtio (virt has no IDE). Other boots through the firmware
// (--pxe, --initrd alone) are amd64's only.
func mediaArch(c *cli.Command, m *qemu.Machine) error {
	arch, err := guestArch(c)
	if err != nil || arch == runtime.GOARCH {
		return err
	}
	if m.Medium == nil {
		return fmt.Errorf("boot --arch %s: --pxe and --initrd alone boot %s machines only; boot a FILE.iso or FILE.img, or a REF", arch, runtime.GOARCH)
	}
	if c.IsSet("uefi") && !c.Bool("uefi") {
		return errors.New("boot --arch " + arch + ": boots through UEFI only (no BIOS)")
	}
	m.Arch, m.UEFI = arch, true
	return nil
}
