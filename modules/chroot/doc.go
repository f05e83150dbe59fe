// Package chroot runs commands inside a root tree: in a private mount and PID
// namespace, with /proc, /sys, /dev, /dev/pts and /run mounted, the host's
// resolv.conf bound in and services kept from starting. Everything it sets up
// dies with the namespace, on success, failure or a signal.
package chroot
