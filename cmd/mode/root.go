package main

import (
	"fmt"
	"os"
)

// needRoot is the clear error of a command run without root that mounts,
// chroots or makes loop devices: it says why and what to do.
func needRoot(command string) error {
	if os.Geteuid() == 0 {
		return nil
	}
	return fmt.Errorf("%s needs root (loop devices, overlayfs, namespaces, chroot): run it as root or with sudo", command)
}
