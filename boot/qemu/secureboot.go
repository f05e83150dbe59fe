package qemu

import (
	"fmt"
	"os"
	"path/filepath"
)

// OVMF's Secure Boot build (Debian's ovmf): its code, and variable stores
// with keys enrolled. OVMFSnakeoilVars holds Debian's test key
// PkKek-1-snakeoil (OVMFSnakeoilKey, password "snakeoil", and OVMFSnakeoilCert)
// in PK, KEK and db; OVMFMicrosoftVars Microsoft's keys.
const (
	OVMFSecureCode    = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"
	OVMFSnakeoilVars  = "/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd"
	OVMFMicrosoftVars = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"
	OVMFSnakeoilKey   = "/usr/share/ovmf/PkKek-1-snakeoil.key"
	OVMFSnakeoilCert  = "/usr/share/ovmf/PkKek-1-snakeoil.pem"
)

// CopyVars copies the variable store src into dir, for
// Machine.SecureBootVars: the firmware writes to it (boot entries), so each
// machine gets its own copy.
func CopyVars(src, dir string) (string, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return "", fmt.Errorf("OVMF variables: %w (install ovmf)", err)
	}
	dst := filepath.Join(dir, "OVMF_VARS.fd")
	return dst, os.WriteFile(dst, b, 0o644)
}

// uefiArgs are the firmware's arguments: OVMF's Secure Boot build from two
// pflash devices (the code read-only; SMM keeps the variables from the
// guest's reach) on q35, which that build needs, or plain OVMF as the BIOS.
func (m Machine) uefiArgs() []string {
	switch {
	case m.arch() == "arm64" && (m.UEFI || m.firmwareBoot()): // no BIOS on arm64
		return m.aavmfArgs()
	case m.SecureBootVars != "":
		return []string{"-machine", "q35,smm=on", "-global", "driver=cfi.pflash01,property=secure,value=on",
			"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + qemuEscape(OVMFSecureCode),
			"-drive", "if=pflash,format=raw,unit=1,file=" + qemuEscape(m.SecureBootVars)}
	case m.UEFI:
		return []string{"-bios", OVMF}
	}
	return nil
}
