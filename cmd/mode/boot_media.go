package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mode-build/mode/boot/initramfs"
	"github.com/mode-build/mode/boot/media"
	"github.com/mode-build/mode/boot/qemu"
	"github.com/urfave/cli/v3"
)

func mediaBootFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "uefi", Usage: "boot through UEFI firmware (OVMF) instead of BIOS (SeaBIOS)"},
		&cli.BoolFlag{Name: "usb", Usage: "with FILE.iso or FILE.img: attach it as a USB stick (default: an ISO as a CD-ROM, an image as a disk)"},
		&cli.StringFlag{Name: "as", Usage: "with FILE.iso or FILE.img: attach it as `KIND`: cdrom, disk (IDE) or usb"},
		&cli.StringFlag{Name: "pxe", Usage: "boot by PXE from the TFTP root `DIR` made by mode netboot"},
		&cli.StringFlag{Name: "http-boot", Usage: "with --arch arm64: boot by the firmware's UEFI HTTP boot of `URL` (mode serve's http://10.0.2.2:PORT/boot/arm64/bootaa64.efi)"},
		&cli.BoolFlag{Name: "snapshot", Usage: "with FILE.img: discard what the guest writes to it (by default its changes and saved layers stay on it)"},
	}
}

// mediaMachine is the machine of a boot of a medium made by mode image: a
// FILE.iso or FILE.img through the firmware, --initrd alone (an initramfs
// carrying its layers), or --pxe DIR. ok is false for any other boot.
func mediaMachine(ctx context.Context, c *cli.Command) (m qemu.Machine, ok bool, err error) {
	m = qemu.Machine{MemoryMiB: int(c.Int("memory")), UEFI: c.Bool("uefi")}
	arg := c.Args().First()
	switch {
	case c.String("http-boot") != "":
		return m, true, httpBootMachine(c, &m) // boot_media_arch.go
	case c.String("pxe") != "":
		if c.Args().Len() != 0 {
			return m, true, errors.New("boot: --pxe DIR takes no REF")
		}
		dir := c.String("pxe")
		if !isDir(dir) {
			return m, true, fmt.Errorf("boot: --pxe %s: not a directory (mode netboot makes one)", dir)
		}
		m.PXE = &qemu.PXE{Dir: dir, File: pxeBootFile(c.Bool("uefi"))}
		return m, true, mediaArch(c, &m)
	case c.Args().Len() == 0 && c.String("initrd") != "":
		if err := mediaArch(c, &m); err != nil {
			return m, true, err
		}
		m.Kernel, m.Initrd = c.String("kernel"), c.String("initrd")
		if err := bootFiles(ctx, c, &m, ""); err != nil {
			return m, true, err
		}
		m.Append = c.String("append")
		return m, true, nil
	case c.Args().Len() == 1 && (strings.HasSuffix(arg, ".iso") || strings.HasSuffix(arg, ".img")):
		fi, err := os.Stat(arg)
		if err != nil || fi.IsDir() {
			if err == nil {
				err = errors.New("a directory")
			}
			return m, true, fmt.Errorf("boot: %s: %w", arg, err)
		}
		as := "disk"
		if strings.HasSuffix(arg, ".iso") {
			as = "cdrom"
		}
		if c.Bool("usb") {
			as = "usb"
		}
		switch a := c.String("as"); a {
		case "":
		case "cdrom", "disk", "usb":
			as = a
		default:
			return m, true, fmt.Errorf("boot: --as %q: want cdrom, disk or usb", a)
		}
		// A disk image keeps what the guest writes, as a stick would; an ISO is read-only.
		m.Medium = &qemu.Medium{File: arg, As: as, Writable: strings.HasSuffix(arg, ".img") && !c.Bool("snapshot")}
		return m, true, mediaArch(c, &m) // boot_media_arch.go
	}
	return m, false, nil
}

// pxeBootFile is the DHCP boot file of a PXE boot in QEMU: boot.ipxe of the
// TFTP root, what the dnsmasq snippet gives an iPXE client. QEMU's NIC ROMs
// are iPXE already, under SeaBIOS and under OVMF; QEMU's DHCP cannot tell
// iPXE apart, so undionly.kpxe or ipxe.efi given here would load themselves
// again and again.
func pxeBootFile(bool) string { return "boot.ipxe" }

// bootChainKernel takes the kernel and its modules from the chain arg (a
// chain of the store or a DIR of layers) when it has one and neither
// --kernel nor --initrd is given: it sets m's kernel and builds its
// initramfs from those modules into tmp.
func bootChainKernel(ctx context.Context, c *cli.Command, m *qemu.Machine, arg, tmp string) error {
	if c.String("kernel") != "" || c.String("initrd") != "" || registryRef(arg) {
		return nil
	}
	var im *media.Image
	var err error
	if isDir(arg) {
		im, err = media.FromDir(arg, c.String("chain"))
	} else {
		im, err = storeImage(c.String("store"), arg)
	}
	if err != nil {
		return err
	}
	k, err := chainKernel(ctx, im, tmp)
	if err != nil || k == nil {
		return err
	}
	opts, err := initramfsOptions("", k.Modules, nil)
	if err != nil {
		return err
	}
	m.Kernel, m.Initrd = k.Vmlinuz, filepath.Join(tmp, "initrd.img")
	res, err := initramfs.BuildFile(ctx, opts, m.Initrd)
	if err != nil {
		return err
	}
	reportInitramfs(res)
	return nil
}
