package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// These helpers stand in for package layers' Mount, AttachLoop and Overlay
// until they land; they only use golang.org/x/sys.

// mnt is one mount as a value.
type mnt struct {
	typ, source, target string
	flags               uintptr
	data                string
}

func (m mnt) String() string {
	s := fmt.Sprintf("%s on %s type %s", m.source, m.target, m.typ)
	if m.data != "" {
		s += " (" + m.data + ")"
	}
	return s
}

// mount creates the target directory and mounts m there.
func (m mnt) mount() error {
	if err := os.MkdirAll(m.target, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(m.source, m.target, m.typ, m.flags, m.data); err != nil {
		return fmt.Errorf("mount %s: %w", m, err)
	}
	return nil
}

// overlay returns the overlay mount of lowers (top first) under upper.
func overlay(lowers []string, upper, work, target string) mnt {
	return mnt{
		typ: "overlay", source: "overlay", target: target,
		data: fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s",
			strings.Join(lowers, ":"), upper, work),
	}
}

// attachLoop attaches file to a free loop device, read-only, with autoclear
// (the device goes away when its last user unmounts it).
func attachLoop(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("loop for %s: %w", file, err)
	}
	defer ctl.Close()
	for try := 0; try < 10; try++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return "", fmt.Errorf("loop for %s: get free: %w", file, err)
		}
		dev := fmt.Sprintf("/dev/loop%d", n)
		ld, err := openWait(dev, os.O_RDONLY, time.Second)
		if err != nil {
			return "", fmt.Errorf("loop for %s: %w", file, err)
		}
		cfg := unix.LoopConfig{Fd: uint32(f.Fd())}
		cfg.Info.Flags = unix.LO_FLAGS_READ_ONLY | unix.LO_FLAGS_AUTOCLEAR
		copy(cfg.Info.File_name[:], file)
		err = unix.IoctlLoopConfigure(int(ld.Fd()), &cfg)
		ld.Close()
		if errors.Is(err, unix.EBUSY) {
			continue // raced with another user of the device
		}
		if err != nil {
			return "", fmt.Errorf("loop %s for %s: %w", dev, file, err)
		}
		return dev, nil
	}
	return "", fmt.Errorf("loop for %s: no free device", file)
}

// openWait opens name, waiting up to d for devtmpfs to create it.
func openWait(name string, flag int, d time.Duration) (*os.File, error) {
	deadline := time.Now().Add(d)
	for {
		f, err := os.OpenFile(name, flag, 0)
		if err == nil || !errors.Is(err, os.ErrNotExist) || time.Now().After(deadline) {
			return f, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mountEarly mounts /dev, /proc, /sys and /run, and copies the mode binary
// to /run/mode/bin so the booted system has it.
func (b *boot) mountEarly() (string, error) {
	for _, m := range []mnt{
		{typ: "devtmpfs", source: "devtmpfs", target: "/dev", flags: unix.MS_NOSUID},
		{typ: "proc", source: "proc", target: "/proc", flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{typ: "sysfs", source: "sysfs", target: "/sys", flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{typ: "tmpfs", source: "tmpfs", target: "/run", flags: unix.MS_NOSUID | unix.MS_NODEV, data: "mode=0755"},
	} {
		if err := m.mount(); err != nil && !errors.Is(err, unix.EBUSY) {
			return "", err
		}
	}
	for _, d := range []string{layersDir, changesDir, workDir, mountsDir, binDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
	}
	if err := copyFile("/bin/mode", filepath.Join(binDir, "mode"), 0o755); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	return "mounted /dev /proc /sys /run", nil
}

// copyFile copies src to dst with mode perm.
func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := out.ReadFrom(in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return out.Close()
}
