// Package initramfs builds mode's initramfs: a newc cpio archive holding the
// mode binary, which is the init too (or a separate init, cmd/mode-init), the kernel modules the init needs with
// their dependencies, CA certificates and busybox as the rescue shell. The same
// inputs give the same bytes.
package initramfs
