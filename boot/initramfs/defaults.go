package initramfs

import "os"

// Host paths Defaults uses when they exist.
const (
	HostBusybox = "/bin/busybox"
	HostCACerts = "/etc/ssl/certs/ca-certificates.crt"
)

// Defaults returns Options for this machine: the running executable itself
// as mode and as the init (a multi-call binary: see Options.Init), the host's
// busybox (it must be static: Debian's busybox-static) and CA bundle.
func Defaults() (Options, error) {
	exe, err := os.Executable()
	if err != nil {
		return Options{}, err
	}
	o := Options{Mode: exe}
	if _, err := os.Stat(HostBusybox); err == nil {
		o.Busybox = HostBusybox
	}
	if _, err := os.Stat(HostCACerts); err == nil {
		o.CACerts = HostCACerts
	}
	return o, nil
}
