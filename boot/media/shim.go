package media

import (
	"context"
	"debug/pe"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mode-build/mode/boot/uki"
)

// Debian's signed boot chain, for UEFI firmware with Secure Boot on and
// Microsoft's keys: shim (signed by Microsoft's UEFI CA) verifies GRUB and
// the kernel against Debian's CA built into it; GRUB (signed by Debian)
// hands the kernel to shim to verify. Without these files the UEFI boot is
// a GRUB mode builds, which only firmware with Secure Boot off runs.
const (
	ShimSigned       = "/usr/lib/shim/shimx64.efi.signed"                      // shim-signed
	MokManagerSigned = "/usr/lib/shim/mmx64.efi.signed"                        // shim-helpers-amd64-signed (shim-signed's dependency)
	GrubSigned       = "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"    // grub-efi-amd64-signed
	GrubNetSigned    = "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed" // grub-efi-amd64-signed: GRUB for netboot, prefix /grub on the TFTP server
)

// signedGrubConfig is the configuration Debian's signed GRUB reads: its
// prefix is /EFI/debian on the device it was loaded from (built into the
// image; `strings` on its mods section shows it). It is sourced there.
const signedGrubConfig = "/EFI/debian/grub.cfg"

// HasSignedChain tells whether shim-signed and grub-efi-amd64-signed are
// installed, and if not, what is missing.
func HasSignedChain() error {
	for _, f := range []string{ShimSigned, MokManagerSigned, GrubSigned} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("%s is missing (install shim-signed and grub-efi-amd64-signed)", f)
		}
	}
	return nil
}

// efiFiles writes into work what goes on the ESP (or the ISO's EFI image)
// for UEFI, path there → source: the site's UKI (im.SecureBoot), else
// Debian's signed shim and GRUB with GRUB's configuration, else (without
// them) a GRUB of its own. args find the layers.
func (im *Image) efiFiles(ctx context.Context, work, id, args string) (map[string]string, error) {
	if im.arm64() {
		return im.arm64EFI(ctx, work, id) // arm64.go
	}
	if im.SecureBoot != nil || HasSignedChain() != nil {
		efi, err := im.bootEFI(ctx, work, id, args)
		return map[string]string{"/EFI/BOOT/BOOTX64.EFI": efi}, err
	}
	cfg := filepath.Join(work, "signed-grub.cfg")
	if err := os.WriteFile(cfg, []byte(earlyConfig(marker(id))), 0o644); err != nil {
		return nil, err
	}
	// shim loads grubx64.efi and mmx64.efi from its own directory; no
	// fbx64.efi: that would make shim write boot entries instead.
	return map[string]string{
		"/EFI/BOOT/BOOTX64.EFI": ShimSigned,
		"/EFI/BOOT/grubx64.efi": GrubSigned,
		"/EFI/BOOT/mmx64.efi":   MokManagerSigned,
		signedGrubConfig:        cfg,
	}, nil
}

// SignedChainWarning says why a medium of im will not boot under Secure
// Boot with Microsoft's keys, or is "" when it will: Debian's signed chain
// is installed and the kernel is signed by the CA that chain's shim
// trusts (checked with sbverify). A UKI (im.SecureBoot) is the site's
// business: "".
func SignedChainWarning(ctx context.Context, im *Image, work string) string {
	if im.SecureBoot != nil {
		return ""
	}
	if im.arm64() {
		return "UEFI boots GRUB arm64-efi built by mode, unsigned: only with Secure Boot off"
	}
	if err := HasSignedChain(); err != nil {
		return fmt.Sprintf("UEFI boots an unsigned GRUB, only with Secure Boot off: %v", err)
	}
	ca := filepath.Join(work, "shim-vendor-ca.pem")
	if err := ShimVendorCert(ShimSigned, ca); err != nil {
		return fmt.Sprintf("cannot tell whether kernel %s boots under Secure Boot: %v", im.Kernel, err)
	}
	if err := uki.Verify(ctx, ca, im.Kernel); err != nil {
		return fmt.Sprintf("kernel %s is not signed by the CA shim trusts (%s): UEFI with Secure Boot on refuses it "+
			"(\"bad shim signature\"); BIOS and UEFI with Secure Boot off boot it. Debian's signed linux-image-* kernels pass (%v)",
			im.Kernel, ShimSigned, err)
	}
	return ""
}

// ShimVendorCert writes the certificate built into shim (its .vendor_cert
// section: Debian's Secure Boot CA in Debian's shim) to out as PEM: the CA
// shim verifies GRUB and kernels against.
func ShimVendorCert(shim, out string) error {
	f, err := pe.Open(shim)
	if err != nil {
		return fmt.Errorf("shim %s: %w", shim, err)
	}
	defer f.Close()
	s := f.Section(".vendor_cert")
	if s == nil {
		return fmt.Errorf("shim %s: no .vendor_cert section", shim)
	}
	b, err := io.ReadAll(io.LimitReader(s.Open(), 1<<20))
	if err != nil {
		return fmt.Errorf("shim %s: %w", shim, err)
	}
	// struct { u32 authorized_size, deauthorized_size, authorized_offset, deauthorized_offset }
	if len(b) < 16 {
		return fmt.Errorf("shim %s: .vendor_cert of %d bytes", shim, len(b))
	}
	size, off := binary.LittleEndian.Uint32(b[0:]), binary.LittleEndian.Uint32(b[8:])
	if size == 0 || uint64(off)+uint64(size) > uint64(len(b)) {
		return errors.New("shim " + shim + ": no vendor certificate in .vendor_cert")
	}
	return os.WriteFile(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: b[off : off+size]}), 0o644)
}
