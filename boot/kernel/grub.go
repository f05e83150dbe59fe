package kernel

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// GrubPackage is the Debian package of GRUB's EFI build for arch: its
// modules directory holds what grub-mkimage -O GrubFormat(arch) builds from.
func GrubPackage(arch string) string { return "grub-efi-" + arch + "-bin" }

// GrubFormat is grub-mkimage's -O of arch's UEFI GRUB (arm64-efi).
func GrubFormat(arch string) string {
	if arch == "amd64" {
		return "x86_64-efi"
	}
	return arch + "-efi"
}

// FetchGrub returns the modules directory of GRUB's EFI build for arch
// (DIR/grub/usr/lib/grub/arm64-efi for arm64): GrubPackage(arch) of the
// host's Debian suite, unpacked once into dir/grub with mmdebstrap's
// extract variant, as FetchArch unpacks the kernel (Debian ships it for
// that architecture only; the host's grub-mkimage builds images from it).
func FetchGrub(ctx context.Context, dir, arch string) (string, error) {
	root := filepath.Join(dir, "grub")
	mods := filepath.Join(root, "usr/lib/grub", GrubFormat(arch))
	if fileExists(filepath.Join(mods, "kernel.img")) {
		return mods, nil
	}
	unlock, err := lockDir(dir) // another process may be fetching it
	if err != nil {
		return "", err
	}
	defer unlock()
	if fileExists(filepath.Join(mods, "kernel.img")) {
		return mods, nil
	}
	tmp := root + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "mmdebstrap", "--mode=root", "--format=directory", "--variant=extract",
		"--architectures="+arch, "--include="+GrubPackage(arch), codename(), tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("GRUB for %s: mmdebstrap: %w: %s", arch, err, lastLines(out, 5))
	}
	os.RemoveAll(root)
	if err := os.Rename(tmp, root); err != nil {
		return "", err
	}
	if !fileExists(filepath.Join(mods, "kernel.img")) {
		return "", fmt.Errorf("GRUB for %s: %s has no %s", arch, GrubPackage(arch), mods)
	}
	return mods, nil
}
