package activate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mode-build/mode/boot/lazy"
	"github.com/mode-build/mode/internal/proc"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/mount"
	"github.com/mode-build/mode/verity"
	"golang.org/x/sys/unix"
)

// lazySource is where a module to be read lazily comes from.
type lazySource struct {
	ref      string // pinned by the chain's digest
	insecure bool
	mirrors  []string
}

// fetch makes src's layer readable: a module of a lazy boot (src.lazy) gets
// a lazy server of its own and a dm-verity device over its NBD device
// (openLazy), unless the registry ignores Range: then, as any other
// registry module, its layer is pulled whole. It says how, for the user.
func (s *source) fetch(runDir string) (*Lazy, string, error) {
	if s.lazy == nil {
		return nil, "", nil
	}
	l, noRange, err := s.openLazy(runDir)
	if err != nil || noRange == "" {
		return l, "", err
	}
	if err := s.pull(); err != nil {
		return nil, "", err
	}
	return nil, noRange + ": downloaded the layer whole", nil
}

// openLazy starts the lazy server of src's layer (the fill at once, at the
// bounded rate, its progress in layers.LazyModuleFile) and opens the
// dm-verity device over its NBD device with the root hash of the module's
// config. noRange says why not when the registry ignores Range (nothing is
// left running then).
func (s *source) openLazy(runDir string) (l *Lazy, noRange string, err error) {
	m := s.meta
	status := layers.LazyModuleFile(runDir, m.Name)
	spec := lazy.Spec{Ref: s.lazy.ref, Insecure: s.lazy.insecure, Mirrors: s.lazy.mirrors, FetchTimeout: time.Minute,
		Rate: lazy.Rate, RunDir: runDir, Status: filepath.Base(status), Now: true, Stop: true,
		Prefix: "mode activate " + m.Name + ": ",
		Layers: []lazy.Layer{{File: s.file, Digest: m.Digest, Size: m.Size}}}
	out, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0) // the kernel's log: the server outlives this command
	if err != nil {
		out, err = os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return nil, "", err
		}
	}
	defer out.Close()
	ready, err := lazy.Start(spec, out)
	if err != nil {
		return nil, "", fmt.Errorf("module %s: %w", m.Name, err)
	}
	if ready.NoRange != "" {
		return nil, ready.NoRange, nil
	}
	l = &Lazy{Pid: ready.Pid, NBD: ready.Devices[0], Verity: "mode-active-" + m.Name, Status: status}
	l.Start, _ = proc.StartTime(l.Pid)
	dev, err := verity.Open(l.Verity, l.NBD, m.Verity)
	if err != nil {
		l.close()
		return nil, "", fmt.Errorf("module %s: %w", m.Name, err)
	}
	l.Device = dev.Path
	return l, "", nil
}

// mountLayer mounts the module's layer read-only at m.Mount: from its
// dm-verity device when lazy, else loop-mounted from its file.
func mountLayer(m Module) error {
	if m.Lazy == nil {
		return mount.MountSquashfs(m.File, m.Mount)
	}
	mnt := mount.Mount{Type: "squashfs", Source: m.Lazy.Device, Target: m.Mount, Flags: unix.MS_RDONLY}
	if err := mnt.Mount(); err != nil {
		if errors.Is(err, unix.EIO) {
			return fmt.Errorf("module %s: dm-verity refused a block as it was read (the registry's blob changed after its config was served; its root hash is %s): %w",
				m.Meta.Name, m.Meta.Verity.RootHash, err)
		}
		return fmt.Errorf("module %s: %w", m.Meta.Name, err)
	}
	return nil
}

// close takes a lazily read module's devices down, its layer unmounted:
// the dm-verity device is removed (or, still busy from a lazily detached
// overlay, removed by device-mapper once its last user goes), the lazy
// server is stopped (it disconnects the NBD device once nothing holds it,
// and removes the layer's file and its status file) and waited for. It
// says what is left to happen when the removal was deferred.
func (l *Lazy) close() (string, error) {
	deferred, err := (&verity.Device{Name: l.Verity}).RemoveOrDefer()
	if err != nil {
		return "", err
	}
	return l.stop(deferred)
}

// stop stops the lazy server (SIGUSR1, if the pid's start time is still
// the recorded one) and, unless its dm-verity device's removal was
// deferred, waits for it to exit; it removes the status file.
func (l *Lazy) stop(deferred bool) (string, error) {
	if start, serr := proc.StartTime(l.Pid); serr == nil && start == l.Start {
		if err := unix.Kill(l.Pid, unix.SIGUSR1); err != nil && !errors.Is(err, unix.ESRCH) {
			return "", fmt.Errorf("lazy server %d: %w", l.Pid, err)
		}
		if deferred {
			os.Remove(l.Status)
			return fmt.Sprintf("%s is still in use (a process holds a file of the module open): device-mapper removes it when that ends, and the lazy server (pid %d) stops then", l.Verity, l.Pid), nil
		}
		for i := 0; ; i++ {
			if now, err := proc.StartTime(l.Pid); err != nil || now != l.Start {
				break
			}
			if i == 600 {
				return "", fmt.Errorf("lazy server %d: still running 60 s after it was told to stop", l.Pid)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	os.Remove(l.Status) // the server removes it; one killed otherwise did not
	return "", nil
}
