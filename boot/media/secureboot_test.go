package media_test

import (
	"bytes"
	"context"
	"debug/pe"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/media"
	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/boot/uki"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/registry/trust"
)

// snakeoil is Debian's Secure Boot test key (OVMF_VARS_4M.snakeoil.fd has
// its certificate in db), its key decrypted for sbsign (password "snakeoil").
func snakeoil(t testing.TB) *media.SecureBoot {
	t.Helper()
	key := filepath.Join(t.TempDir(), "snakeoil.key")
	out, err := exec.Command("openssl", "pkey", "-in", qemu.OVMFSnakeoilKey, "-passin", "pass:snakeoil", "-out", key).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl pkey %s: %v\n%s (install ovmf and openssl)", qemu.OVMFSnakeoilKey, err, out)
	}
	return &media.SecureBoot{Key: key, Cert: qemu.OVMFSnakeoilCert}
}

// requiresSecureBoot fails unless the tools of a UKI and the Secure Boot
// firmware are here (make deps installs them); -short skips it.
func requiresSecureBoot(t testing.TB) {
	t.Helper()
	testutil.RequiresTools(t, "sbsign", "sbverify", "objcopy")
	for _, f := range []string{uki.Stub, qemu.OVMFSecureCode, qemu.OVMFSnakeoilVars} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%v: install systemd-boot-efi and ovmf (make deps)", err)
		}
	}
}

// espFile copies the file at path from the ESP (partition 2) of the disk
// image img to dst, or with put, dst back over it.
func espFile(t *testing.T, img, path, dst string, put bool) {
	t.Helper()
	start, _ := partition(t, img, 2)
	n, _ := strconv.ParseInt(start, 10, 64)
	at := img + "@@" + strconv.FormatInt(n*512, 10)
	args := []string{"-n", "-i", at, "::" + path, dst}
	if put {
		args = []string{"-o", "-i", at, dst, "::" + path}
	}
	cmd := exec.Command("mcopy", args...)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mcopy %v: %v\n%s", args, err, out)
	}
}

// secureMachine boots medium as a virtio disk (q35 has no IDE controller,
// and the cloud kernel no AHCI) under OVMF's Secure Boot build with the
// snakeoil key enrolled.
func secureMachine(t *testing.T, medium string) qemu.Machine {
	t.Helper()
	vars, err := qemu.CopyVars(qemu.OVMFSnakeoilVars, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return qemu.Machine{Medium: &qemu.Medium{File: medium, As: "virtio"}, SecureBootVars: vars, MemoryMiB: 512}
}

// refused boots m and wants the firmware to refuse the medium's boot loader:
// "Access Denied" on the console, and nothing of the kernel.
func refused(t *testing.T, m qemu.Machine) {
	t.Helper()
	res, err := qemu.Run(context.Background(), m, qemu.Watch{
		Expect: "Access Denied", Timeout: 4 * time.Minute, Fail: []string{"EFI stub:", "Linux version"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("refused after %.1fs", res.Elapsed.Seconds())
	if !strings.Contains(res.Console, `BdsDxe: failed to load Boot`) {
		t.Errorf("console lacks the firmware's refusal:\n%s", res.Console)
	}
}

// TestBootSecureBoot writes examples/tiny as a disk whose UEFI boot is a
// unified kernel image signed with Debian's snakeoil key, and boots it under
// OVMF's Secure Boot build with that key in db: the kernel says Secure Boot
// is on (and locks itself down) and tiny boots. The ISO made the same way
// boots as a disk. The same UKI with one byte of its command line changed is
// refused by the firmware, and so is an unsigned UKI: the kernel never runs.
func TestBootSecureBoot(t *testing.T) {
	requiresSecureBoot(t)
	im := tinyImage(t, "")
	im.SecureBoot = snakeoil(t)
	dir := t.TempDir()
	img, iso := filepath.Join(dir, "tiny.img"), filepath.Join(dir, "tiny.iso")
	for f, format := range map[string]string{img: "disk", iso: "iso"} {
		if err := media.Write(context.Background(), format, im, f); err != nil {
			t.Fatal(err)
		}
	}
	checkDisk(t, img)
	signed := filepath.Join(dir, "signed.efi")
	espFile(t, img, "/EFI/BOOT/BOOTX64.EFI", signed, false)
	if err := uki.Verify(context.Background(), qemu.OVMFSnakeoilCert, signed); err != nil {
		t.Error(err)
	}
	sections, err := uki.Sections(signed)
	if err != nil {
		t.Fatal(err)
	}
	label := im.Label("disk")
	wantLine := "console=tty0 console=ttyS0,115200 mode.from=LABEL=" + label + ":/mode mode.changes=LABEL=" + label
	if got := string(sections[".cmdline"]); got != wantLine {
		t.Errorf(".cmdline = %q, want %q", got, wantLine)
	}
	kern, _ := os.ReadFile(im.Kernel)
	initrd, _ := os.ReadFile(im.Initrd)
	if !bytes.Equal(sections[".linux"], kern) || !bytes.Equal(sections[".initrd"], initrd) {
		t.Error("the UKI's .linux and .initrd are not the kernel and the initramfs")
	}

	// One byte of the signed command line changed: console=tty1.
	tampered := filepath.Join(dir, "tampered.img")
	if out, err := exec.Command("cp", "--sparse=always", img, tampered).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	bad := filepath.Join(dir, "tampered.efi")
	b, _ := os.ReadFile(signed)
	at := cmdlineOffset(t, signed) + int64(len("console=tty"))
	b[at] = '1'
	if err := os.WriteFile(bad, b, 0o644); err != nil {
		t.Fatal(err)
	}
	espFile(t, tampered, "/EFI/BOOT/BOOTX64.EFI", bad, true)

	unsignedIm := *im
	unsignedIm.SecureBoot = &media.SecureBoot{}
	unsigned := filepath.Join(dir, "unsigned.img")
	if err := media.Write(context.Background(), "disk", &unsignedIm, unsigned); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain.efi")
	espFile(t, unsigned, "/EFI/BOOT/BOOTX64.EFI", plain, false)
	if err := uki.Verify(context.Background(), qemu.OVMFSnakeoilCert, plain); err == nil {
		t.Error("sbverify accepts the unsigned UKI")
	}

	t.Run("signed disk boots", func(t *testing.T) {
		boot(t, secureMachine(t, img), "MODE-TINY-OK", "EFI stub: UEFI Secure Boot is enabled.",
			"secureboot: Secure boot enabled", "Kernel is locked down from EFI Secure Boot",
			"found 4 layers of base-essential-console-extra", "in LABEL="+label+":/mode")
	})
	t.Run("signed ISO boots", func(t *testing.T) {
		boot(t, secureMachine(t, iso), "MODE-TINY-OK", "secureboot: Secure boot enabled", "in LABEL="+im.Label("iso")+":/mode")
	})
	t.Run("one byte changed is refused", func(t *testing.T) { refused(t, secureMachine(t, tampered)) })
	t.Run("unsigned is refused", func(t *testing.T) { refused(t, secureMachine(t, unsigned)) })
}

// cmdlineOffset is where the .cmdline section of the PE file starts in it.
func cmdlineOffset(t *testing.T, file string) int64 {
	t.Helper()
	f, err := pe.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := f.Section(".cmdline")
	if s == nil {
		t.Fatalf("%s has no .cmdline", file)
	}
	return int64(s.Offset)
}

// TestBootSecureBootTrust is the whole chain of trust through the CLI: the
// chain is signed in the store with the site's chain key, mode image builds
// the disk with an initramfs that trusts only that key (--trust) and a UKI
// signed with the Secure Boot key (the snakeoil key stands for the site's:
// it is the one in the firmware's db). Under Secure Boot the firmware
// verifies the UKI, the init verifies the chain's signature (and, under its
// require policy, opens every layer through dm-verity), and tiny boots.
func TestBootSecureBootTrust(t *testing.T) {
	requiresSecureBoot(t)
	_, storeDir, pubFile, pubs := signedTinyStore(t)
	sb := snakeoil(t)
	img := filepath.Join(t.TempDir(), "tiny.img")
	cmd := exec.Command(filepath.Join(testutil.Binaries(t), "mode"), "image", "tiny:extra", "--store", storeDir, "-f", "disk", "-o", img,
		"--kernel", testutil.Kernel(t).Vmlinuz, "--kernel-modules", testutil.Kernel(t).Deb, "--trust", pubFile,
		"--secure-boot-key", sb.Key, "--secure-boot-cert", sb.Cert)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "with the chain's signatures") || strings.Contains(string(out), "warning") {
		t.Fatalf("mode image: %v\n%s", err, out)
	}
	boot(t, secureMachine(t, img), "MODE-TINY-OK", "secureboot: Secure boot enabled",
		": signed by key "+pubs[0].ID)
}

// signedTinyStore is tinyStore with tiny:extra signed by a site key of its
// own: the image, the store, the public key's file and the keys it holds.
func signedTinyStore(t *testing.T) (*media.Image, string, string, []*trust.PublicKey) {
	t.Helper()
	im, storeDir := tinyStore(t, "")
	s, err := store.Open(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	keyFile, pubFile, err := trust.WriteKeyPair(filepath.Join(t.TempDir(), "site"), nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := trust.LoadSigner(keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	pubs, err := trust.LoadPublicKeys(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := trust.SignStore(s, "tiny:extra", signer, nil); err != nil {
		t.Fatal(err)
	}
	return im, storeDir, pubFile, pubs
}
