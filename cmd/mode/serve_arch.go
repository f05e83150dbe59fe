package main

import (
	"os"
	"path/filepath"
	"runtime"

	"github.com/mode-build/mode/boot/netboot"
)

// serveArchBoot is how mode serve boots arm64 machines under /boot/arm64/
// (docs/boot.md#arm64): GRUB's arm64-efi network image, Debian's arm64
// cloud kernel and an initramfs whose init is mode-arm64 beside this mode
// (make build-arm64), each fetched or built on the first request.
func serveArchBoot() *netboot.ArchBoot {
	const arch = "arm64"
	if runtime.GOARCH == arch {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return &netboot.ArchBoot{Arch: arch, Mode: filepath.Join(filepath.Dir(exe), "mode-"+arch), KernelDir: filepath.Join(kernelDir(), arch)}
}
