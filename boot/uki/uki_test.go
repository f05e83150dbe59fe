package uki_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/uki"
)

// TestWriteKey: a key and its certificate pass Check; they are not written
// over; a key with another's certificate, a certificate given as the key,
// and an expired certificate are refused, naming the file.
func TestWriteKey(t *testing.T) {
	dir := t.TempDir()
	a, err := uki.WriteKey(filepath.Join(dir, "a"), "mode test a")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(a.Key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v, mode %v; want 0600", a.Key, err, fi.Mode())
	}
	if _, err := os.Stat(filepath.Join(dir, "a.cer")); err != nil {
		t.Error(err)
	}
	if err := a.Check(time.Now()); err != nil {
		t.Errorf("Check of a fresh pair: %v", err)
	}
	if _, err := uki.WriteKey(filepath.Join(dir, "a"), "again"); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("WriteKey over a key: %v", err)
	}
	b, err := uki.WriteKey(filepath.Join(dir, "b"), "mode test b")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		s    uki.Signer
		now  time.Time
		want string
	}{
		{"other certificate", uki.Signer{Key: a.Key, Cert: b.Cert}, time.Now(), "is not the key of certificate " + b.Cert},
		{"certificate as key", uki.Signer{Key: a.Cert, Cert: a.Cert}, time.Now(), "a certificate, not a private key"},
		{"missing key", uki.Signer{Key: filepath.Join(dir, "none.key"), Cert: a.Cert}, time.Now(), "none.key"},
		{"expired", a, time.Now().Add(uki.Validity + 48*time.Hour), "expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Check(tc.now)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check: %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestBuildSign builds a UKI from made-up kernel and initramfs bytes, reads
// its sections back, signs it with a key of WriteKey and checks the
// signature with sbverify; a byte changed fails sbverify.
func TestBuildSign(t *testing.T) {
	if testing.Short() {
		t.Skip("objcopy, sbsign and systemd's stub: not with -short")
	}
	if _, err := os.Stat(uki.Stub); err != nil {
		t.Fatalf("%v: install systemd-boot-efi (make deps)", err)
	}
	for _, tool := range []string{"objcopy", "sbsign", "sbverify"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s: install binutils and sbsigntool (make deps)", tool)
		}
	}
	ctx := context.Background()
	dir := t.TempDir()
	kernel, initrd := filepath.Join(dir, "vmlinuz"), filepath.Join(dir, "initrd")
	kb, ib := bytes.Repeat([]byte("kernel"), 5000), bytes.Repeat([]byte("initrd"), 7001)
	os.WriteFile(kernel, kb, 0o644)
	os.WriteFile(initrd, ib, 0o644)
	u := uki.UKI{Kernel: kernel, Initrd: initrd, Cmdline: "console=ttyS0 mode.from=LABEL=X:/mode"}
	unsigned, signed := filepath.Join(dir, "u.efi"), filepath.Join(dir, "s.efi")
	if err := uki.Build(ctx, u, unsigned); err != nil {
		t.Fatal(err)
	}
	sec, err := uki.Sections(unsigned)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{".linux": kb, ".initrd": ib, ".cmdline": []byte(u.Cmdline), ".osrel": []byte("ID=mode\nNAME=mode\nPRETTY_NAME=\"mode\"\n")} {
		if !bytes.Equal(sec[name], want) {
			t.Errorf("section %s: %d bytes, want %d", name, len(sec[name]), len(want))
		}
	}
	if _, ok := sec[".sbat"]; !ok {
		t.Error("the stub's own sections are gone")
	}
	s, err := uki.WriteKey(filepath.Join(dir, "site"), "mode test")
	if err != nil {
		t.Fatal(err)
	}
	if err := uki.Sign(ctx, s, unsigned, signed); err != nil {
		t.Fatal(err)
	}
	if err := uki.Verify(ctx, s.Cert, signed); err != nil {
		t.Error(err)
	}
	if err := uki.Verify(ctx, s.Cert, unsigned); err == nil {
		t.Error("sbverify accepts the unsigned UKI")
	}
	b, _ := os.ReadFile(signed)
	i := bytes.Index(b, []byte("mode.from"))
	b[i] = 'M'
	os.WriteFile(signed, b, 0o644)
	if err := uki.Verify(ctx, s.Cert, signed); err == nil {
		t.Error("sbverify accepts the UKI with its command line changed")
	}
}
