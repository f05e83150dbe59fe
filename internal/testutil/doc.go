// Package testutil holds test helpers: probes for root, overlayfs, loop devices
// and QEMU, and checks that a test left no mount or loop device behind.
package testutil
