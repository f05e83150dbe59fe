package mount

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Mount performs m, creating its target directory when missing.
func (m Mount) Mount() error {
	if err := os.MkdirAll(m.Target, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(m.Source, m.Target, m.Type, m.Flags, m.Data); err != nil {
		return fmt.Errorf("%s: %w", m, err)
	}
	return nil
}

// Unmount unmounts target, retrying briefly while it is busy (a process of a
// chroot may still be exiting), then detaching it lazily as a last resort.
func Unmount(target string) error {
	var err error
	for i := 0; i < 50; i++ {
		err = unix.Unmount(target, 0)
		if err == nil || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			return nil // unmounted, or not a mount point
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if lerr := unix.Unmount(target, unix.MNT_DETACH); lerr == nil {
		return nil
	}
	return fmt.Errorf("unmount %s: %w", target, err)
}
