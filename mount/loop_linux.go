package mount

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Loop is a loop device bound to a file, held open by us.
type Loop struct {
	Path string // /dev/loopN
	dev  *os.File
}

// Close lets the device go: with autoclear, the kernel frees it once
// nothing has it open or mounted, so Close it after mounting it.
func (l *Loop) Close() error { return l.dev.Close() }

// AttachLoop binds file to a free loop device. The device is allocated
// through /dev/loop-control (other programs use loops too) and set to
// autoclear: it frees itself when the returned Loop is closed and its last
// mount goes away, so no device outlives its use.
func AttachLoop(file string, readOnly bool) (*Loop, error) {
	flags := os.O_RDWR
	if readOnly {
		flags = os.O_RDONLY
	}
	f, err := os.OpenFile(file, flags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("loop devices: %w", err)
	}
	defer ctl.Close()
	abs, _ := filepath.Abs(file)
	for try := 0; try < 20; try++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return nil, fmt.Errorf("loop devices: get free: %w", err)
		}
		dev := fmt.Sprintf("/dev/loop%d", n)
		if _, err := os.Stat(dev); errors.Is(err, os.ErrNotExist) {
			if err := unix.Mknod(dev, unix.S_IFBLK|0o660, int(unix.Mkdev(7, uint32(n)))); err != nil && !errors.Is(err, os.ErrExist) {
				return nil, fmt.Errorf("create %s: %w", dev, err)
			}
		}
		lf, err := os.OpenFile(dev, flags, 0)
		if err != nil {
			return nil, err
		}
		cfg := unix.LoopConfig{Fd: uint32(f.Fd())}
		cfg.Info.Flags = unix.LO_FLAGS_AUTOCLEAR
		if readOnly {
			cfg.Info.Flags |= unix.LO_FLAGS_READ_ONLY
		}
		copy(cfg.Info.File_name[:], abs)
		err = unix.IoctlLoopConfigure(int(lf.Fd()), &cfg)
		if err != nil {
			lf.Close()
		}
		if errors.Is(err, unix.EBUSY) {
			continue // another program took it between GET_FREE and now
		}
		if err != nil {
			return nil, fmt.Errorf("loop configure %s for %s: %w", dev, file, err)
		}
		return &Loop{Path: dev, dev: lf}, nil
	}
	return nil, fmt.Errorf("loop devices: none stayed free for %s", file)
}

// MountSquashfs loop-mounts the squashfs image file read-only at target.
func MountSquashfs(file, target string) error {
	loop, err := AttachLoop(file, true)
	if err != nil {
		return err
	}
	defer loop.Close() // the mount holds the device from here on
	m := Mount{Type: "squashfs", Source: loop.Path, Target: target, Flags: unix.MS_RDONLY}
	if err := m.Mount(); err != nil {
		return fmt.Errorf("layer %s: %w", file, err)
	}
	return nil
}
