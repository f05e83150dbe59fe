// Package registrytest holds what the store, remote and serve tests share:
// squashfs chains made on the fly, stores holding them, mode serve and other
// registries on loopback, and the interop tools of `make tools`.
package registrytest
