package modeinit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mode-build/mode/mount"
	"golang.org/x/sys/unix"
)

// mountEarly mounts /dev, /proc, /sys and /run and makes /run/mode's
// directories.
func (b *boot) mountEarly() (string, error) {
	for _, m := range []mount.Mount{
		{Type: "devtmpfs", Source: "devtmpfs", Target: "/dev", Flags: unix.MS_NOSUID},
		{Type: "proc", Source: "proc", Target: "/proc", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{Type: "sysfs", Source: "sysfs", Target: "/sys", Flags: unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{Type: "tmpfs", Source: "tmpfs", Target: "/run", Flags: unix.MS_NOSUID | unix.MS_NODEV, Data: "mode=0755"},
	} {
		if err := m.Mount(); err != nil && !errors.Is(err, unix.EBUSY) {
			return "", err
		}
	}
	for _, d := range []string{layersDir, changesDir, workDir, mountsDir, binDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
	}
	return "mounted /dev /proc /sys /run at uptime " + uptime() + ",", nil
}

// copyMode copies the mode binary to /run/mode/bin so the booted system has
// it (a task: it runs while the boot waits for the network).
func copyMode() (string, error) {
	if err := copyFile("/bin/mode", filepath.Join(binDir, "mode"), 0o755); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	return "", nil
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
