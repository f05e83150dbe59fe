package media

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// The ISO 9660 image: El Torito with a BIOS entry (GRUB's i386-pc-eltorito
// image) and a UEFI entry (a FAT image holding GRUB's BOOTX64.EFI), plus an
// MBR and a GPT that make the same bytes boot as a disk (grub-mkrescue's
// layout). go-diskfs writes the FAT image; xorriso writes the ISO, because
// go-diskfs's ISO writer has no hybrid MBR/GPT and does not patch GRUB's
// boot info.
//
//	/boot/vmlinuz /boot/initrd.img    the kernel and mode's initramfs
//	/boot/grub/grub.cfg               the menu
//	/boot/grub/mode-<ID>              names the medium for GRUB
//	/boot/grub/bios.img, efi.img      the El Torito images
//	/mode/*.sqfs, *.json              the layers and their metadata
func writeISO(ctx context.Context, im *Image, out, work string) error {
	id, label := im.ID("iso"), im.Label("iso")
	find := "mode.from=LABEL=" + label + ":/mode"
	files, err := bootFiles(ctx, im, work, id, find)
	if err != nil {
		return err
	}
	if !im.arm64() { // arm64 machines have no BIOS
		bios := filepath.Join(work, "bios.img")
		if err := mkimage(ctx, work, "i386-pc-eltorito", earlyConfig(marker(id)), bios, "biosdisk"); err != nil {
			return err
		}
		files["/boot/grub/bios.img"] = bios
	}
	efiImg, err := efiImage(ctx, im, work, id, find)
	if err != nil {
		return err
	}
	files["/boot/grub/efi.img"] = efiImg
	lf, err := im.stageLayers(work)
	if err != nil {
		return err
	}
	for n, src := range lf {
		files["/mode/"+n] = src
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	os.Remove(out) // xorriso refuses to overwrite a file that is not an ISO
	epoch := strconv.FormatInt(im.Epoch().Unix(), 10)
	args := []string{"-as", "mkisofs", "-quiet", "-o", out, "-V", label, "-r", "-graft-points",
		"--set_all_file_dates", "=" + epoch, // the boot catalog too
	}
	if !im.arm64() { // arm64: the EFI entry alone, and a GPT for a stick, no BIOS boot code
		args = append(args, "-b", "boot/grub/bios.img", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
			"--grub2-boot-info", "--grub2-mbr", filepath.Join(grubPC, "boot_hybrid.img"), "-eltorito-alt-boot")
	}
	args = append(args, "-e", "boot/grub/efi.img", "-no-emul-boot", "-efi-boot-part", "--efi-boot-image",
		"--protective-msdos-label")
	for _, n := range names {
		args = append(args, n[1:]+"="+files[n])
	}
	env := []string{"SOURCE_DATE_EPOCH=" + epoch}
	if err := runEnv(ctx, env, "xorriso", args...); err != nil {
		return fmt.Errorf("%w (install xorriso)", err)
	}
	return nil
}

// bootFiles writes grub.cfg and the marker into work and returns the files
// of /boot every medium has: path on the medium → source.
func bootFiles(ctx context.Context, im *Image, work, id, find string) (map[string]string, error) {
	cfg := filepath.Join(work, "grub.cfg")
	if err := os.WriteFile(cfg, []byte(im.grubConfig(find)), 0o644); err != nil {
		return nil, err
	}
	mark := filepath.Join(work, "marker")
	if err := os.WriteFile(mark, []byte("mode image "+id+"\n"), 0o644); err != nil {
		return nil, err
	}
	return map[string]string{
		"/boot/vmlinuz":       im.Kernel,
		"/boot/initrd.img":    im.Initrd,
		"/boot/grub/grub.cfg": cfg,
		marker(id):            mark,
	}, nil
}

// efiImage makes a FAT image holding the UEFI boot (shim and GRUB, shim.go,
// or the UKI, secureboot.go) at /EFI/BOOT/BOOTX64.EFI, the removable-media
// path every firmware tries.
func efiImage(ctx context.Context, im *Image, work, id, find string) (string, error) {
	files, err := im.efiFiles(ctx, work, id, find)
	if err != nil {
		return "", err
	}
	n, err := filesSize(files)
	if err != nil {
		return "", err
	}
	img := filepath.Join(work, "efi.img")
	if err := writeFAT(ctx, img, 0, roundMiB(n+n/8+256<<10), false, "MODE_EFI", files, im.Epoch(), work); err != nil {
		return "", fmt.Errorf("EFI image: %w", err)
	}
	return img, nil
}
