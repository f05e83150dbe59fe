package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBootMediaArchBad: what an arm64 machine cannot boot through its
// firmware is refused before QEMU starts, naming the value.
func TestBootMediaArchBad(t *testing.T) {
	dir := t.TempDir()
	iso := filepath.Join(dir, "x.iso")
	if err := os.WriteFile(iso, []byte("not booted"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--arch", "arm64", "--pxe", dir}, "boot --arch arm64: --pxe and --initrd alone boot amd64 machines only"},
		{[]string{"--arch", "arm64", "--uefi=false", iso}, "boot --arch arm64: boots through UEFI only (no BIOS)"},
		{[]string{"--arch", "arm64", "--http-boot", "ftp://10.0.2.2/x"}, `boot --http-boot "ftp://10.0.2.2/x": want http://HOST:PORT/PATH`},
		{[]string{"--arch", "amd64", "--http-boot", "http://10.0.2.2:1/boot/arm64/bootaa64.efi"}, "boot --http-boot: for --arch arm64"},
		{[]string{"--arch", "arm64", "--http-boot", "http://10.0.2.2:1/x", "tiny:extra"}, "boot: --http-boot URL takes no REF"},
	} {
		b, err := modeCmd(append([]string{"boot", "--expect", "x"}, tt.args...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(b), tt.want) {
			t.Errorf("boot %v: %v\n%s\nwant %q", tt.args, err, b, tt.want)
		}
	}
}
