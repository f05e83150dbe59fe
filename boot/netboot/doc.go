// Package netboot serves what a PXE/iPXE machine needs to boot a chain with
// nothing else: the kernel, mode's initramfs, and an iPXE script carrying the
// chain's mode.ref on the server it came from. Each chain boots its own
// kernel (/boot/chain/REPO/REF/…): one its layers carry, with an initramfs of
// its modules built on first use and kept in the store (chainkernel.go),
// else the server's. New assembles mode serve's /boot/ from plain Options.
package netboot
