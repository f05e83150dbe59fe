// Package nbd serves a read-only block device to the kernel's NBD client
// (the nbd module) from an io.ReaderAt: the init's lazy boot maps each layer
// to /dev/nbdN whose reads are byte ranges of the registry's blob (see
// docs/boot.md, "Lazy boot"). Serve speaks the transmission phase of the
// protocol; Attach (Linux) hands one end of a socket pair to the kernel with
// the ioctl interface (no handshake: the kernel is told the size directly).
package nbd
