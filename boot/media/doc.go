// Package media writes bootable media from a chain of layers: a hybrid ISO
// (El Torito BIOS and UEFI, and a USB disk when written with dd), a raw GPT
// disk image (an EFI system partition with GRUB, the kernel and the
// initramfs; an ext4 data partition with the layers and room for changes), a
// single initramfs carrying the layers, and a PXE TFTP root chaining into
// mode serve's boot.ipxe. The bootloader is GRUB from Debian's packages:
// under UEFI Debian's signed shim and GRUB (Secure Boot with Microsoft's
// keys, shim.go), or a unified kernel image signed with the site's key
// (boot/uki, secureboot.go); docs/media.md says which parts go-diskfs
// writes and which Debian tools do.
package media
