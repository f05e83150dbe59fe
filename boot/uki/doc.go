// Package uki makes unified kernel images for UEFI Secure Boot: systemd's
// EFI stub with the kernel, the initramfs and the kernel command line as
// sections of one PE binary (objcopy), signed with a site's key (sbsign), so
// that firmware which trusts the key verifies all three at once. It also
// makes that key: RSA-2048 and a self-signed code-signing certificate.
package uki
