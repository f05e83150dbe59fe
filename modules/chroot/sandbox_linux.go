package chroot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// The sandbox a step runs in, beyond its private mount, PID, UTS and IPC
// namespaces (docs/chroot.md): the root is entered with pivot_root(2) and the
// old root detached, so no chroot(2) escape finds the host's tree; the
// command runs with no_new_privs and with only the capabilities a package
// install uses (keptCaps); /proc's knobs that reach the host are read-only or
// masked; /dev is a fresh read-only tmpfs with a few character devices and
// no block device; every other writable mount (the root, /run, binds) is
// nodev.

// keptCaps are the capabilities a step keeps in its bounding set: root's
// file work (own, read and write any file, set modes and file capabilities
// as dpkg and setcap in maintainer scripts do), switching users (apt's _apt
// sandbox, adduser, su), signals within the step, binding low ports,
// chroot(2) (harmless once the root is pivoted) and mknod, because a layer
// may ship device nodes (examples/tiny's /etc/tiny-null): every writable
// mount of the sandbox is nodev and its /dev read-only, so a node a step
// makes is data for the layer, never a way to a host device. Everything
// else goes: loading modules, rebooting, setting the clock, raw I/O, mount
// and the rest of CAP_SYS_ADMIN (no block device can be mounted, no devtmpfs
// or /dev remounted), network administration of the host's network
// namespace, raw sockets, ptrace, open_by_handle_at (CAP_DAC_READ_SEARCH),
// audit and MAC control.
var keptCaps = []uintptr{
	unix.CAP_CHOWN, unix.CAP_DAC_OVERRIDE, unix.CAP_FOWNER, unix.CAP_FSETID, unix.CAP_SETFCAP, unix.CAP_MKNOD,
	unix.CAP_SETUID, unix.CAP_SETGID, unix.CAP_SETPCAP, unix.CAP_KILL,
	unix.CAP_NET_BIND_SERVICE, unix.CAP_SYS_CHROOT, unix.CAP_AUDIT_WRITE,
}

// pivotInto makes root (a mount point: setup binds it on itself) the root of
// the mount namespace and detaches the old one. root must hold everything the
// command needs: nothing of the host's tree stays reachable.
func pivotInto(root string) error {
	old, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(old)
	if err := unix.Chdir(root); err != nil {
		return err
	}
	// pivot_root(".", "."): the old root is stacked on the new one, at "/",
	// and unmounted from there.
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %s: %w", root, err)
	}
	if err := unix.Fchdir(old); err != nil {
		return err
	}
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("old root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the old root: %w", err)
	}
	return unix.Chdir("/")
}

// restrictProc makes the /proc entries that act on the host read-only
// (sysctls, sysrq, interrupts) or empty (kernel memory, keys, timers).
// Missing entries are skipped.
func restrictProc(proc, devNull string) error {
	for _, p := range []string{"sys", "sysrq-trigger", "irq", "bus", "fs"} {
		full := filepath.Join(proc, p)
		if _, err := os.Lstat(full); err != nil {
			continue
		}
		if err := bindFile(full, full, true); err != nil {
			return err
		}
	}
	for _, p := range []string{"kcore", "keys", "timer_list", "sched_debug", "kallsyms"} {
		full := filepath.Join(proc, p)
		if _, err := os.Lstat(full); err != nil {
			continue
		}
		if err := unix.Mount(devNull, full, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("mask %s: %w", full, err)
		}
	}
	return nil
}

// lockDown sets no_new_privs and drops from the bounding set every
// capability not in keptCaps. It runs last before exec: the command starts
// with the reduced set (root's permitted set after exec is the bounding set).
func lockDown() error {
	keep := map[uintptr]bool{}
	for _, c := range keptCaps {
		keep[c] = true
	}
	for c := uintptr(0); c <= unix.CAP_LAST_CAP; c++ {
		if keep[c] {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, c, 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("drop capability %d: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	return nil
}

// noDev remounts the bind mount at target nodev (and read-only with ro):
// device nodes made below it cannot be opened.
func noDev(target string, ro bool) error {
	flags := uintptr(unix.MS_REMOUNT | unix.MS_BIND | unix.MS_NODEV | unix.MS_NOSUID)
	if ro {
		flags |= unix.MS_RDONLY
	}
	if err := unix.Mount("", target, "", flags, ""); err != nil {
		return fmt.Errorf("remount %s nodev: %w", target, err)
	}
	return nil
}
