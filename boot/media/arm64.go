package media

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Media for arm64 machines boot through UEFI only (no BIOS on ARM): the
// ISO's El Torito has its EFI entry alone, the disk's BIOS boot partition
// stays empty, and the UEFI boot loader is GRUB's arm64-efi build at
// /EFI/BOOT/BOOTAA64.EFI (the removable-media path of arm64 firmware),
// built by the host's grub-mkimage from Image.GrubEFI (Debian's
// grub-efi-arm64-bin, which only arm64 hosts install: kernel.FetchGrub
// unpacks it). It is unsigned: Secure Boot must be off.

// Arches are the architectures Write makes media for.
var Arches = []string{"amd64", "arm64"}

// arch is im.Arch, amd64 when empty.
func (im *Image) arch() string {
	if im.Arch == "" {
		return "amd64"
	}
	return im.Arch
}

func (im *Image) arm64() bool { return im.arch() == "arm64" }

// checkArch fails on an architecture Write does not know, and on an arm64
// image without GRUB's arm64-efi modules or with a Secure Boot UKI
// (systemd's stub on this host is x86_64's).
func (im *Image) checkArch(format string) error {
	switch im.arch() {
	case "amd64":
		return nil
	case "arm64":
	default:
		return fmt.Errorf("architecture %q: media for %s only", im.Arch, strings.Join(Arches, ", "))
	}
	if im.SecureBoot != nil {
		return errors.New("a Secure Boot UKI is for amd64 media only (systemd's x86_64 stub), not arm64")
	}
	if format == "initramfs" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(im.GrubEFI, "kernel.img")); err != nil || im.GrubEFI == "" {
		return fmt.Errorf("GRUB's arm64-efi modules %q are missing (grub-efi-arm64-bin, which mode fetches once beside the arm64 kernel)", im.GrubEFI)
	}
	return nil
}

// arm64Console is the serial console of arm64 machines' kernel line: the
// PL011 of QEMU's virt and of many ARM servers.
const arm64Console = "ttyAMA0,115200"

// grubConfig is the medium's grub.cfg (grub.go), args finding the layers.
func (im *Image) grubConfig(args string) string {
	if !im.arm64() {
		return grubConfig(im.Chain, args, im.Append)
	}
	line := strings.TrimSpace("console=tty0 console=" + arm64Console + " " + args + " " + im.Append)
	return grubMenu(im.Chain, line, false)
}

// arm64EFI writes GRUB arm64-efi into work as BOOTAA64.EFI, its early
// configuration finding the medium by its marker: what goes on the ESP.
func (im *Image) arm64EFI(ctx context.Context, work, id string) (map[string]string, error) {
	efi := filepath.Join(work, "BOOTAA64.EFI")
	if err := mkimageFrom(ctx, work, im.GrubEFI, "arm64-efi", earlyConfig(marker(id)), efi); err != nil {
		return nil, err
	}
	return map[string]string{"/EFI/BOOT/BOOTAA64.EFI": efi}, nil
}

// NetModules are the GRUB modules a network boot loader holds beyond
// those of every medium: the UEFI NIC driver and HTTP and TFTP.
var NetModules = []string{"efinet", "net", "http", "tftp"}

// GrubNetImage writes to out GRUB's EFI image of format (arm64-efi) from
// the modules in grubDir, for machines that load it over the network
// (UEFI HTTP boot or PXE) and fetch the rest over HTTP: cfg, built into
// it, is its whole configuration.
func GrubNetImage(ctx context.Context, grubDir, format, cfg, out string) error {
	if _, err := os.Stat(filepath.Join(grubDir, "kernel.img")); err != nil {
		return fmt.Errorf("GRUB's %s modules are missing in %s", format, grubDir)
	}
	work, err := os.MkdirTemp(filepath.Dir(out), ".grub-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	return mkimageFrom(ctx, work, grubDir, format, cfg, out, NetModules...)
}
