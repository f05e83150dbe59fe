// Package kernel fetches the kernel mode boots when a chain carries none:
// Debian's cloud kernel, downloaded with the host's apt and unpacked once
// into a directory. `mode boot`, `mode serve`'s netboot and the tests share it.
package kernel
