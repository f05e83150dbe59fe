// Package netboot serves what a PXE/iPXE machine needs to boot a chain with
// nothing else: the kernel, mode's initramfs, and an iPXE script carrying the
// chain's mode.ref on the server it came from. New assembles mode serve's
// /boot/ from plain Options.
package netboot
