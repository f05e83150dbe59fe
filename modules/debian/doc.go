// Package debian bootstraps Debian root trees with mmdebstrap or debootstrap,
// builds the apt-get steps that install and purge packages in a chroot, and
// diffs dpkg status databases into a layer's package list. Its mirror comes
// from the host's apt configuration unless a module names one; downloads go
// to a cache shared between builds, never into a layer.
package debian
