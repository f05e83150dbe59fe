package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
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

// httpBootMachine makes m an arm64 machine that boots by UEFI HTTP boot of
// --http-boot URL (mode serve's /boot/arm64/bootaa64.efi): AAVMF with a
// variable store of its own, empty (Secure Boot off) but for a boot entry
// of URL and BootNext (a site's DHCP server would hand out the URL to
// clients of class HTTPClient; QEMU's offers none). The store is in a
// temporary directory removeEFIVars removes.
func httpBootMachine(c *cli.Command, m *qemu.Machine) error {
	u, err := url.Parse(c.String("http-boot"))
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("boot --http-boot %q: want http://HOST:PORT/PATH (the guest reaches this host at 10.0.2.2)", c.String("http-boot"))
	}
	if c.Args().Len() != 0 {
		return errors.New("boot: --http-boot URL takes no REF")
	}
	arch, err := guestArch(c)
	if err != nil {
		return err
	}
	if arch != "arm64" {
		return fmt.Errorf("boot --http-boot: for --arch arm64 (amd64 machines netboot by --pxe, or HTTP-boot mode serve's signed UKI: docs/media.md)")
	}
	dir, err := os.MkdirTemp("", "mode-efivars-*")
	if err != nil {
		return err
	}
	vars, err := qemu.BlankVars(qemu.AAVMFSnakeoilVars, dir)
	if err == nil {
		err = qemu.AddBootURI(vars, "mode HTTP boot", u.String())
	}
	if err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("boot --http-boot: %w", err)
	}
	m.Arch, m.UEFI, m.HTTPBoot, m.EFIVars = arch, true, true, vars
	return nil
}

// removeEFIVars removes the variable store httpBootMachine made for m.
func removeEFIVars(m qemu.Machine) {
	if m.EFIVars != "" && filepath.Base(m.EFIVars) == "EFI_VARS.fd" && m.HTTPBoot {
		os.RemoveAll(filepath.Dir(m.EFIVars))
	}
}
