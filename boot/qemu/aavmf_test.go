package qemu_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/boot/qemu"
)

// TestBlankVars: AAVMF's snakeoil variables lose their keys (Secure Boot
// off) but keep their format, so that AddBootURI puts its entry first in
// the store; the zeros of AAVMF_VARS.fd are refused, naming the file.
func TestBlankVars(t *testing.T) {
	if testing.Short() {
		t.Skip("AAVMF's variables: not with -short")
	}
	if _, err := os.Stat(qemu.AAVMFSnakeoilVars); err != nil {
		t.Fatalf("%v: install qemu-efi-aarch64 (make deps)", err)
	}
	dir := t.TempDir()
	vars, err := qemu.BlankVars(qemu.AAVMFSnakeoilVars, dir)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(qemu.AAVMFSnakeoilVars)
	after, _ := os.ReadFile(vars)
	if len(after) != len(before) || !bytes.Equal(after[:100], before[:100]) {
		t.Fatal("the headers changed")
	}
	if !bytes.Contains(before, utf16le("PK\x00")) || bytes.Contains(after, utf16le("PK\x00")) {
		t.Error("the snakeoil PK is still there (or never was)")
	}
	if !bytes.Equal(after[100:160], bytes.Repeat([]byte{0xff}, 60)) {
		t.Error("the variables' space is not erased")
	}
	if err := qemu.AddBootURI(vars, "mode HTTP boot", "http://10.0.2.2:1/boot/bootaa64.efi"); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(vars)
	if at := bytes.Index(again, utf16le("Boot0100\x00")); at != 100+60 {
		t.Errorf("Boot0100's name at %d, want the store's first variable (160)", at)
	}
	if _, err := qemu.BlankVars(qemu.AAVMFVars, dir); err == nil || !strings.Contains(err.Error(), qemu.AAVMFVars) {
		t.Errorf("BlankVars of the unformatted store: %v", err)
	}
	if _, err := qemu.BlankVars(filepath.Join(dir, "none.fd"), dir); err == nil {
		t.Error("BlankVars of a missing file: no error")
	}
}
