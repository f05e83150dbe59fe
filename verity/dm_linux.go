package verity

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The device-mapper ioctl interface (linux/dm-ioctl.h), version 4.
const (
	dmHeaderSize = 312 // sizeof(struct dm_ioctl)
	dmSpecSize   = 40  // sizeof(struct dm_target_spec)
	dmNameLen    = 128

	dmDevCreate  = 3
	dmDevRemove  = 4
	dmDevSuspend = 6
	dmTableLoad  = 9

	dmReadonlyFlag       = 1 << 0
	dmDeferredRemoveFlag = 1 << 17 // DM_DEFERRED_REMOVE
)

// dmIoctl is _IOWR(0xfd, nr, struct dm_ioctl).
func dmIoctl(nr uintptr) uintptr { return 3<<30 | dmHeaderSize<<16 | 0xfd<<8 | nr }

// Control is where device-mapper takes its ioctls.
const Control = "/dev/mapper/control"

// Device is a dm-verity device: reads of Path are the file's data, each
// block checked against the root hash; a changed block reads as an I/O error.
type Device struct {
	Name string
	Path string // /dev/dm-N
}

// Open creates the dm-verity device name over the block device dev (a
// loop device of a layer file holding data and tree, as Append writes it)
// with parameters p, read-only, and activates it.
func Open(name, dev string, p *Params) (*Device, error) {
	if len(name) >= dmNameLen || name == "" {
		return nil, fmt.Errorf("verity: device name %q: want 1 to %d bytes", name, dmNameLen-1)
	}
	sectors, params, err := Table(p, dev)
	if err != nil {
		return nil, err
	}
	ctl, err := openControl()
	if err != nil {
		return nil, err
	}
	defer ctl.Close()
	hdr, err := dmCall(ctl, dmDevCreate, name, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("verity: create %s: %w", name, err)
	}
	devno := binary.LittleEndian.Uint64(hdr[40:48])
	fail := func(err error) (*Device, error) {
		dmCall(ctl, dmDevRemove, name, 0, nil)
		return nil, err
	}
	if _, err := dmCall(ctl, dmTableLoad, name, dmReadonlyFlag, targetSpec(sectors, "verity", params)); err != nil {
		return fail(fmt.Errorf("verity: load table of %s (%s): %w", name, params, err))
	}
	if _, err := dmCall(ctl, dmDevSuspend, name, 0, nil); err != nil { // no suspend flag: resume
		return fail(fmt.Errorf("verity: activate %s: %w", name, err))
	}
	path, err := devNode(devno)
	if err != nil {
		return fail(err)
	}
	return &Device{Name: name, Path: path}, nil
}

// Remove removes the device; it fails while the device is mounted.
func (d *Device) Remove() error {
	ctl, err := openControl()
	if err != nil {
		return err
	}
	defer ctl.Close()
	for try := 0; ; try++ {
		_, err = dmCall(ctl, dmDevRemove, d.Name, 0, nil)
		if !errors.Is(err, unix.EBUSY) || try >= 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("verity: remove %s: %w", d.Name, err)
	}
	return nil
}

// RemoveOrDefer removes the device as Remove does; while it stays busy
// (a lazily detached mount still reads it) it has device-mapper remove it
// once its last user closes it, and reports deferred. A device that is
// gone already is no error.
func (d *Device) RemoveOrDefer() (deferred bool, err error) {
	err = d.Remove()
	if err == nil || errors.Is(err, unix.ENXIO) {
		return false, nil
	}
	if !errors.Is(err, unix.EBUSY) {
		return false, err
	}
	ctl, cerr := openControl()
	if cerr != nil {
		return false, cerr
	}
	defer ctl.Close()
	if _, err := dmCall(ctl, dmDevRemove, d.Name, dmDeferredRemoveFlag, nil); err != nil {
		return false, fmt.Errorf("verity: deferred remove of %s: %w", d.Name, err)
	}
	return true, nil
}

// openControl opens /dev/mapper/control, creating the node when the
// devtmpfs has none (10, minor from /sys).
func openControl() (*os.File, error) {
	f, err := os.OpenFile(Control, os.O_RDWR, 0)
	if err == nil {
		return f, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("device-mapper: %w", err)
	}
	b, rerr := os.ReadFile("/sys/class/misc/device-mapper/dev")
	var major, minor uint32
	if rerr != nil {
		return nil, fmt.Errorf("device-mapper: %w (is dm_mod loaded?)", err)
	}
	if _, err := fmt.Sscanf(string(b), "%d:%d", &major, &minor); err != nil {
		return nil, fmt.Errorf("device-mapper: /sys/class/misc/device-mapper/dev: %q", b)
	}
	os.MkdirAll(filepath.Dir(Control), 0o755)
	if err := unix.Mknod(Control, unix.S_IFCHR|0o600, int(unix.Mkdev(major, minor))); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("device-mapper: %w", err)
	}
	return os.OpenFile(Control, os.O_RDWR, 0)
}

// devNode returns /dev/dm-N of device number devno, creating the node when
// no devtmpfs makes it.
func devNode(devno uint64) (string, error) {
	major, minor := unix.Major(devno), unix.Minor(devno)
	path := fmt.Sprintf("/dev/dm-%d", minor)
	for i := 0; i < 20; i++ {
		if _, err := os.Stat(path); err == nil {
			return path, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := unix.Mknod(path, unix.S_IFBLK|0o600, int(unix.Mkdev(major, minor))); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("verity: create %s: %w", path, err)
	}
	return path, nil
}

// targetSpec is one struct dm_target_spec with its parameter string.
func targetSpec(sectors uint64, typ, params string) []byte {
	n := dmSpecSize + len(params) + 1
	n = (n + 7) &^ 7
	b := make([]byte, n)
	binary.LittleEndian.PutUint64(b[0:], 0)       // sector_start
	binary.LittleEndian.PutUint64(b[8:], sectors) // length
	binary.LittleEndian.PutUint32(b[20:], uint32(n))
	copy(b[24:40], typ)
	copy(b[40:], params)
	return b
}

// dmCall makes one device-mapper ioctl on device name with flags and the
// data after the header; it returns the header the kernel wrote back.
func dmCall(ctl *os.File, nr uintptr, name string, flags uint32, data []byte) ([]byte, error) {
	buf := make([]byte, dmHeaderSize+len(data)+16*1024) // room for the kernel's answer
	le := binary.LittleEndian
	le.PutUint32(buf[0:], 4) // version 4.0.0
	le.PutUint32(buf[12:], uint32(len(buf)))
	le.PutUint32(buf[16:], dmHeaderSize) // data_start
	if data != nil {
		le.PutUint32(buf[20:], 1) // target_count
	}
	le.PutUint32(buf[28:], flags)
	copy(buf[48:48+dmNameLen-1], name)
	copy(buf[dmHeaderSize:], data)
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, ctl.Fd(), dmIoctl(nr), uintptr(unsafe.Pointer(&buf[0])))
	if errno != 0 {
		return nil, errno
	}
	return buf[:dmHeaderSize], nil
}
