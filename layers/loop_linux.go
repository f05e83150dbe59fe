package layers

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// AttachLoop binds file to a free loop device and returns its path. The
// device is allocated through /dev/loop-control (other programs use loops
// too) and set to autoclear: it frees itself when its last mount goes away.
func AttachLoop(file string, readOnly bool) (string, error) {
	flags := os.O_RDWR
	if readOnly {
		flags = os.O_RDONLY
	}
	f, err := os.OpenFile(file, flags, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("loop devices: %w", err)
	}
	defer ctl.Close()
	abs, _ := filepath.Abs(file)
	for try := 0; try < 20; try++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return "", fmt.Errorf("loop devices: get free: %w", err)
		}
		dev := fmt.Sprintf("/dev/loop%d", n)
		if _, err := os.Stat(dev); errors.Is(err, os.ErrNotExist) {
			if err := unix.Mknod(dev, unix.S_IFBLK|0o660, int(unix.Mkdev(7, uint32(n)))); err != nil && !errors.Is(err, os.ErrExist) {
				return "", fmt.Errorf("create %s: %w", dev, err)
			}
		}
		lf, err := os.OpenFile(dev, flags, 0)
		if err != nil {
			return "", err
		}
		cfg := unix.LoopConfig{Fd: uint32(f.Fd())}
		cfg.Info.Flags = unix.LO_FLAGS_AUTOCLEAR
		if readOnly {
			cfg.Info.Flags |= unix.LO_FLAGS_READ_ONLY
		}
		copy(cfg.Info.File_name[:], abs)
		err = unix.IoctlLoopConfigure(int(lf.Fd()), &cfg)
		lf.Close()
		if errors.Is(err, unix.EBUSY) {
			continue // another program took it between GET_FREE and now
		}
		if err != nil {
			return "", fmt.Errorf("loop configure %s for %s: %w", dev, file, err)
		}
		return dev, nil
	}
	return "", fmt.Errorf("loop devices: none stayed free for %s", file)
}

// DetachLoop frees a loop device that is not mounted (autoclear handles the
// mounted ones on their last unmount).
func DetachLoop(dev string) error {
	f, err := os.OpenFile(dev, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.IoctlSetInt(int(f.Fd()), unix.LOOP_CLR_FD, 0); err != nil && !errors.Is(err, unix.ENXIO) {
		return fmt.Errorf("detach %s: %w", dev, err)
	}
	return nil
}

// MountSquashfs loop-mounts the squashfs image file read-only at target.
func MountSquashfs(file, target string) error {
	dev, err := AttachLoop(file, true)
	if err != nil {
		return err
	}
	m := Mount{Type: "squashfs", Source: dev, Target: target, Flags: unix.MS_RDONLY}
	if err := m.Mount(); err != nil {
		DetachLoop(dev)
		return fmt.Errorf("layer %s: %w", file, err)
	}
	return nil
}
