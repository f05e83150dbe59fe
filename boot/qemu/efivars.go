package qemu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"unicode/utf16"
)

// efiGlobal is EFI_GLOBAL_VARIABLE (8be4df61-93ca-11d2-aa0d-00e098032b8c),
// in the byte order of a variable store.
var efiGlobal = []byte{0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c}

// authVarStore is gEfiAuthenticatedVariableGuid, the format of OVMF's
// Secure Boot variable stores.
var authVarStore = []byte{0x78, 0x2c, 0xf3, 0xaa, 0x7b, 0x94, 0x9a, 0x43, 0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92}

const (
	varHeaderLen = 60   // AUTHENTICATED_VARIABLE_HEADER
	varAdded     = 0x3f // VAR_ADDED: the variable is valid
	varNVBSRT    = 7    // non-volatile, boot service and runtime access
)

// AddBootURI adds to the OVMF variable store file vars (a copy: CopyVars) a
// boot entry Boot0100 named desc whose device path is uri alone (a UEFI
// HTTP boot: the firmware's HttpBootDxe fetches uri over any NIC, taking its
// address from DHCP), and BootNext pointing at it, so that the next boot
// is that one. It appends both to the store's variables, as the firmware
// would write them.
func AddBootURI(vars, desc, uri string) error {
	b, err := os.ReadFile(vars)
	if err != nil {
		return err
	}
	if len(b) < 0x48+28 || string(b[40:44]) != "_FVH" {
		return fmt.Errorf("%s: not a firmware volume (an OVMF_VARS file)", vars)
	}
	hdr := int(binary.LittleEndian.Uint16(b[48:50]))
	if hdr+28 > len(b) || !bytes.Equal(b[hdr:hdr+16], authVarStore) {
		return fmt.Errorf("%s: not an authenticated variable store (OVMF's Secure Boot variables)", vars)
	}
	storeEnd := hdr + int(binary.LittleEndian.Uint32(b[hdr+16:hdr+20]))
	p := hdr + 28
	for p+varHeaderLen <= storeEnd && binary.LittleEndian.Uint16(b[p:p+2]) == 0x55aa {
		ns := int(binary.LittleEndian.Uint32(b[p+36 : p+40]))
		ds := int(binary.LittleEndian.Uint32(b[p+40 : p+44]))
		p = (p + varHeaderLen + ns + ds + 3) &^ 3
	}
	var opt bytes.Buffer                      // EFI_LOAD_OPTION
	dp := append([]byte{3, 24, 0, 0}, uri...) // MESSAGING_DEVICE_PATH, MSG_URI_DP
	binary.LittleEndian.PutUint16(dp[2:], uint16(len(dp)))
	dp = append(dp, 0x7f, 0xff, 4, 0)                  // end of the device path
	binary.Write(&opt, binary.LittleEndian, uint32(1)) // LOAD_OPTION_ACTIVE
	binary.Write(&opt, binary.LittleEndian, uint16(len(dp)))
	opt.Write(ucs2(desc))
	opt.Write(dp)
	for _, v := range []struct {
		name string
		data []byte
	}{{"Boot0100", opt.Bytes()}, {"BootNext", []byte{0x00, 0x01}}} {
		rec := variable(v.name, v.data)
		if p+len(rec) > storeEnd {
			return errors.New(vars + ": the variable store is full")
		}
		for _, c := range b[p : p+len(rec)] {
			if c != 0xff {
				return fmt.Errorf("%s: the variable store's free space at %#x is not erased", vars, p)
			}
		}
		copy(b[p:], rec)
		p = (p + len(rec) + 3) &^ 3
	}
	return os.WriteFile(vars, b, 0o644)
}

// variable is an authenticated variable store's record of the global
// variable name with data (no time stamp, no key: not a time-based
// authenticated variable).
func variable(name string, data []byte) []byte {
	n := ucs2(name)
	rec := make([]byte, varHeaderLen, varHeaderLen+len(n)+len(data))
	binary.LittleEndian.PutUint16(rec[0:], 0x55aa)
	rec[2] = varAdded
	binary.LittleEndian.PutUint32(rec[4:], varNVBSRT)
	binary.LittleEndian.PutUint32(rec[36:], uint32(len(n)))
	binary.LittleEndian.PutUint32(rec[40:], uint32(len(data)))
	copy(rec[44:], efiGlobal)
	return append(append(rec, n...), data...)
}

// ucs2 is s in UTF-16LE with its terminating NUL, as EFI strings are.
func ucs2(s string) []byte {
	var out []byte
	for _, c := range utf16.Encode([]rune(s + "\x00")) {
		out = binary.LittleEndian.AppendUint16(out, c)
	}
	return out
}
