package qemu_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/mode-build/mode/boot/qemu"
)

func utf16le(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

// TestAddBootURI: the boot entry and BootNext are appended to a copy of
// OVMF's snakeoil variables after the variables there, which stay as they
// were; a file that is no variable store is refused, naming it.
func TestAddBootURI(t *testing.T) {
	if testing.Short() {
		t.Skip("OVMF's variables: not with -short")
	}
	if _, err := os.Stat(qemu.OVMFSnakeoilVars); err != nil {
		t.Fatalf("%v: install ovmf (make deps)", err)
	}
	dir := t.TempDir()
	vars, err := qemu.CopyVars(qemu.OVMFSnakeoilVars, dir)
	if err != nil {
		t.Fatal(err)
	}
	const uri = "http://10.0.2.2:5000/boot/mode.efi"
	if err := qemu.AddBootURI(vars, "mode HTTP boot", uri); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(qemu.OVMFSnakeoilVars)
	after, _ := os.ReadFile(vars)
	if len(after) != len(before) {
		t.Fatalf("%d bytes, was %d", len(after), len(before))
	}
	at := bytes.Index(after, utf16le("Boot0100\x00"))
	if at < 0 || !bytes.Equal(after[:at-60], before[:at-60]) {
		t.Fatalf("Boot0100 at %d: not appended after the variables there", at)
	}
	if !bytes.Contains(after[at:], append([]byte{3, 24, byte(4 + len(uri)), 0}, uri...)) {
		t.Error("no URI device path")
	}
	if !bytes.Contains(after[at:], utf16le("mode HTTP boot\x00")) || !bytes.Contains(after[at:], utf16le("BootNext\x00")) {
		t.Error("no description or no BootNext")
	}
	if i := bytes.Index(after[at:], utf16le("BootNext\x00")); i < 0 || !bytes.Equal(after[at+i+18:at+i+20], []byte{0, 1}) {
		t.Error("BootNext is not 0x0100")
	}
	bad := filepath.Join(dir, "bad.fd")
	os.WriteFile(bad, bytes.Repeat([]byte{0xff}, 4096), 0o644)
	if err := qemu.AddBootURI(bad, "x", uri); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("not a variable store: %v", err)
	}
}
