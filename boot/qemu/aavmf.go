package qemu

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
)

// AAVMF is Debian's UEFI firmware for arm64 QEMU (qemu-efi-aarch64): its
// code, an empty variable store (zeros: the firmware formats it on first
// boot) and one with Debian's snakeoil Secure Boot keys enrolled, whose
// format BlankVars keeps. Each goes on a pflash device of -M virt.
const (
	AAVMFCode         = "/usr/share/AAVMF/AAVMF_CODE.fd"
	AAVMFVars         = "/usr/share/AAVMF/AAVMF_VARS.fd"
	AAVMFSnakeoilVars = "/usr/share/AAVMF/AAVMF_VARS.snakeoil.fd"
)

// aavmfArgs are the firmware arguments of an arm64 machine booting through
// UEFI: AAVMF's code read-only, and its variable store EFIVars (the guest
// writes to it), else AAVMFVars with the writes discarded.
func (m Machine) aavmfArgs() []string {
	vars := "file=" + qemuEscape(AAVMFVars) + ",snapshot=on"
	if m.EFIVars != "" {
		vars = "file=" + qemuEscape(m.EFIVars)
	}
	return []string{"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + qemuEscape(AAVMFCode),
		"-drive", "if=pflash,format=raw,unit=1," + vars}
}

// BlankVars writes into dir a variable store of src's format (a formatted
// authenticated variable store, such as AAVMFSnakeoilVars) with no variable
// in it: no Secure Boot keys (Secure Boot off), no boot entries. AddBootURI
// can add to it, which it cannot to AAVMFVars (not formatted yet). It
// returns the file, for Machine.EFIVars.
func BlankVars(src, dir string) (string, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return "", fmt.Errorf("UEFI variables: %w (install qemu-efi-aarch64)", err)
	}
	start, end, err := varStore(b, src)
	if err != nil {
		return "", err
	}
	for i := start; i < end; i++ {
		b[i] = 0xff // erased flash: free space
	}
	dst := filepath.Join(dir, "EFI_VARS.fd")
	return dst, os.WriteFile(dst, b, 0o644)
}

// varStore is where the variables of the store b (named by file) begin and
// end: after the firmware volume's and the store's headers.
func varStore(b []byte, file string) (start, end int, err error) {
	if len(b) < 0x48+28 || string(b[40:44]) != "_FVH" {
		return 0, 0, fmt.Errorf("%s: not a firmware volume (a UEFI variable store)", file)
	}
	hdr := int(binary.LittleEndian.Uint16(b[48:50]))
	if hdr+28 > len(b) || string(b[hdr:hdr+16]) != string(authVarStore) {
		return 0, 0, fmt.Errorf("%s: not an authenticated variable store", file)
	}
	end = hdr + int(binary.LittleEndian.Uint32(b[hdr+16:hdr+20]))
	if end > len(b) {
		return 0, 0, fmt.Errorf("%s: variable store of %d bytes in a file of %d", file, end-hdr, len(b))
	}
	return hdr + 28, end, nil
}
