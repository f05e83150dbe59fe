package initramfs

import (
	"fmt"
	"os"
	"path/filepath"
)

// Host paths Defaults uses when they exist.
const (
	HostBusybox = "/bin/busybox"
	HostCACerts = "/etc/ssl/certs/ca-certificates.crt"
)

// Defaults returns Options for this machine: mode-init beside the running
// executable, the running executable itself as mode, the host's busybox (it
// must be static: Debian's busybox-static) and CA bundle.
func Defaults() (Options, error) {
	exe, err := os.Executable()
	if err != nil {
		return Options{}, err
	}
	o := Options{Init: filepath.Join(filepath.Dir(exe), "mode-init"), Mode: exe}
	if _, err := os.Stat(o.Init); err != nil {
		return o, fmt.Errorf("mode-init not found beside %s (make build makes it; or give --init): %w", exe, err)
	}
	if _, err := os.Stat(HostBusybox); err == nil {
		o.Busybox = HostBusybox
	}
	if _, err := os.Stat(HostCACerts); err == nil {
		o.CACerts = HostCACerts
	}
	return o, nil
}
