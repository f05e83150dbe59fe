package nbd

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// The kernel's NBD ioctls (linux/nbd.h): _IO(0xab, n).
const (
	ioSetSock       = 0xab00
	ioSetBlksize    = 0xab01
	ioDoIt          = 0xab03
	ioClearSock     = 0xab04
	ioSetSizeBlocks = 0xab07
	ioSetTimeout    = 0xab09
	ioDisconnect    = 0xab08
	ioSetFlags      = 0xab0a

	flagHasFlags = 1 << 0
	flagReadOnly = 1 << 1
)

// BlockSize is the device's logical block size: dm-verity's.
const BlockSize = 4096

// Device is a /dev/nbdN attached to a server.
type Device struct {
	Path string
	dev  *os.File
	done chan error // NBD_DO_IT's end
}

// Attach finds a free /dev/nbdN (none of 0..max-1 with a pid in
// /sys/block/nbdN/pid), gives the kernel sock (one end of a socket pair,
// whose other end Serve answers) as its connection, sized size bytes
// (rounded up to whole blocks), read-only, with no request timeout: a read
// waits as long as the server takes (the server retries the registry).
// The kernel's thread runs until Close or the server hangs up.
func Attach(sock *os.File, size int64) (*Device, error) {
	for i := 0; i < 64; i++ {
		path := fmt.Sprintf("/dev/nbd%d", i)
		if _, err := os.Stat(fmt.Sprintf("/sys/block/nbd%d", i)); err != nil {
			break
		}
		if _, err := os.Stat(fmt.Sprintf("/sys/block/nbd%d/pid", i)); err == nil {
			continue // in use
		}
		d, err := attach(path, sock, size)
		if errors.Is(err, unix.EBUSY) {
			continue
		}
		return d, err
	}
	return nil, fmt.Errorf("nbd: no free /dev/nbdN (is the nbd module loaded?)")
}

func attach(path string, sock *os.File, size int64) (*Device, error) {
	var f *os.File
	var err error
	for try := 0; try < 50; try++ { // devtmpfs makes the node as the module loads
		if f, err = os.OpenFile(path, os.O_RDWR, 0); err == nil || !errors.Is(err, os.ErrNotExist) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return nil, fmt.Errorf("nbd: %w", err)
	}
	fd := f.Fd()
	blocks := (size + BlockSize - 1) / BlockSize
	for _, c := range []struct {
		what string
		nr   uintptr
		arg  uintptr
	}{
		{"set block size", ioSetBlksize, BlockSize},
		{"set size", ioSetSizeBlocks, uintptr(blocks)},
		{"set timeout", ioSetTimeout, 0},
		{"set flags", ioSetFlags, flagHasFlags | flagReadOnly},
		{"set socket", ioSetSock, sock.Fd()},
	} {
		if err := unix.IoctlSetInt(int(fd), uint(c.nr), int(c.arg)); err != nil {
			f.Close()
			return nil, fmt.Errorf("nbd: %s: %s: %w", path, c.what, err)
		}
	}
	d := &Device{Path: path, dev: f, done: make(chan error, 1)}
	go func() {
		runtime.LockOSThread() // the ioctl holds this thread for the device's life
		err := unix.IoctlSetInt(int(fd), ioDoIt, 0)
		unix.IoctlSetInt(int(fd), ioClearSock, 0)
		d.done <- err
	}()
	// NBD_DO_IT makes the device live; it is when its size shows in /sys.
	for i := 0; i < 250; i++ {
		if _, err := os.Stat(fmt.Sprintf("/sys/block/%s/pid", path[len("/dev/"):])); err == nil {
			return d, nil
		}
		select {
		case err := <-d.done:
			f.Close()
			return nil, fmt.Errorf("nbd: %s: %w", path, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return d, nil
}

// Wait returns when the kernel lets go of the device (the server hung up).
func (d *Device) Wait() error { return <-d.done }

// Disconnect asks the kernel to let go of the device (NBD_DISCONNECT: it
// sends the server a disconnect, which Serve answers by returning) and
// waits up to timeout for it to do so; then the device is free again.
// Nothing must hold the device (a mount, a dm-verity device over it).
func (d *Device) Disconnect(timeout time.Duration) error {
	if err := unix.IoctlSetInt(int(d.dev.Fd()), ioDisconnect, 0); err != nil {
		return fmt.Errorf("nbd: %s: disconnect: %w", d.Path, err)
	}
	select {
	case <-d.done:
	case <-time.After(timeout):
		return fmt.Errorf("nbd: %s: still connected %s after the disconnect", d.Path, timeout)
	}
	return d.dev.Close()
}
