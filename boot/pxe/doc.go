// Package pxe boots machines by PXE on a network whose DHCP server mode does
// not control: a proxyDHCP service (UDP 67 and 4011) that answers PXE clients
// only and never hands out an address, and a small read-only TFTP server for
// the iPXE binaries. A PXE ROM gets iPXE for its firmware over TFTP; iPXE gets
// the HTTP URL of mode serve's boot.ipxe. See docs/network.md.
package pxe
