package main

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// attachLoop binds file read-only to a free loop device with autoclear and
// returns the device open: the caller mounts it, then closes it. (With
// autoclear, Linux 6.1 frees a loop device on its last close, so a device
// closed before its mount is gone; layers.AttachLoop closes it.)
func attachLoop(file string) (string, *os.File, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return "", nil, fmt.Errorf("loop devices: %w", err)
	}
	defer ctl.Close()
	for try := 0; try < 20; try++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return "", nil, fmt.Errorf("loop devices: get free: %w", err)
		}
		dev := fmt.Sprintf("/dev/loop%d", n)
		if err := waitFile(dev, 2e9); err != nil {
			return "", nil, err
		}
		lf, err := os.OpenFile(dev, os.O_RDONLY, 0)
		if err != nil {
			return "", nil, err
		}
		cfg := unix.LoopConfig{Fd: uint32(f.Fd())}
		cfg.Info.Flags = unix.LO_FLAGS_AUTOCLEAR | unix.LO_FLAGS_READ_ONLY
		copy(cfg.Info.File_name[:], file)
		err = unix.IoctlLoopConfigure(int(lf.Fd()), &cfg)
		if errors.Is(err, unix.EBUSY) {
			lf.Close()
			continue // another program took it between GET_FREE and now
		}
		if err != nil {
			lf.Close()
			return "", nil, fmt.Errorf("loop configure %s for %s: %w", dev, file, err)
		}
		return dev, lf, nil
	}
	return "", nil, fmt.Errorf("loop devices: none stayed free for %s", file)
}
