package media

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/mode-build/mode/boot/uki"
)

// SecureBoot makes a medium boot under UEFI through a unified kernel image
// instead of GRUB: systemd's stub holding the kernel, mode's initramfs and
// the kernel command line, at /EFI/BOOT/BOOTX64.EFI (the removable-media
// path), signed with the site's key, so that firmware whose db holds the
// certificate verifies all three before any of them runs. BIOS boot stays
// GRUB's (no Secure Boot there). The UKI's command line is the medium's
// default entry: under Secure Boot the stub takes no other.
type SecureBoot struct {
	Key, Cert string // PEM key and certificate sbsign signs with; both "" leave the UKI unsigned
}

// ErrSecureBootFormat is the error of SecureBoot on an initramfs image:
// only the ISO and the disk have an ESP.
var ErrSecureBootFormat = errors.New("a Secure Boot UKI goes on an ESP: iso or disk only")

// check fails when the key and certificate are not a usable pair.
func (s *SecureBoot) check(format string) error {
	if format != "iso" && format != "disk" {
		return ErrSecureBootFormat
	}
	if s.Key == "" && s.Cert == "" {
		return nil
	}
	if s.Key == "" || s.Cert == "" {
		return errors.New("a Secure Boot key and its certificate go together")
	}
	return uki.Signer{Key: s.Key, Cert: s.Cert}.Check(time.Now())
}

// bootEFI writes the medium's /EFI/BOOT/BOOTX64.EFI into work: GRUB, or
// with im.SecureBoot the UKI whose command line has args (what finds the
// layers) and im.Append.
func (im *Image) bootEFI(ctx context.Context, work, id, args string) (string, error) {
	efi := filepath.Join(work, "BOOTX64.EFI")
	if im.SecureBoot == nil {
		return efi, mkimage(ctx, work, "x86_64-efi", earlyConfig(marker(id)), efi)
	}
	u := uki.UKI{Kernel: im.Kernel, Initrd: im.Initrd, Cmdline: kernelLine(args, im.Append),
		OSRelease: "ID=mode\nNAME=mode\nPRETTY_NAME=\"mode: " + im.Chain + "\"\n"}
	s := uki.Signer{Key: im.SecureBoot.Key, Cert: im.SecureBoot.Cert}
	if s.Key == "" && s.Cert == "" {
		return efi, uki.Build(ctx, u, efi)
	}
	unsigned := filepath.Join(work, "uki-unsigned.efi")
	if err := uki.Build(ctx, u, unsigned); err != nil {
		return "", err
	}
	return efi, uki.Sign(ctx, s, unsigned, efi)
}
