// Package qemu runs a kernel and initramfs in qemu-system-x86_64 with the
// serial console on a pipe, for `mode boot` and the boot tests alike: it
// streams the console, returns once an expected text appears (and stops the
// guest), and fails on a timeout, a kernel panic or a text that means failure.
// It also fetches Debian kernels with apt-get.
package qemu
