package chroot

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/mode-build/mode/internal/nosync"
)

// child runs in the re-executed binary, as PID 1 of a new PID namespace with
// a private mount namespace. It sets the root up, runs the command, reaps
// orphans and returns the command's exit code. Its namespace, and so every
// mount below and every process left, ends when it exits.
func child(raw string) int {
	report := os.NewFile(3, "setup")
	unix.CloseOnExec(3)
	fail := func(err error) int {
		fmt.Fprintln(report, err)
		return setupFailed
	}
	var j job
	if err := json.Unmarshal([]byte(raw), &j); err != nil {
		return fail(err)
	}
	if err := setup(&j); err != nil {
		return fail(err)
	}
	env := append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root", "LANG=C.UTF-8", "TERM=" + termOr("dumb")}, j.Env...)
	os.Clearenv()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	cmd := exec.Command(j.Argv[0], j.Argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	for i := range j.Extra { // after the setup report (3): the command's 3, 4, ...
		unix.CloseOnExec(4 + i) // the command has it as 3+i alone
		cmd.ExtraFiles = append(cmd.ExtraFiles, os.NewFile(uintptr(4+i), fmt.Sprintf("extra%d", i)))
	}
	if err := cmd.Start(); err != nil {
		return fail(fmt.Errorf("run %s: %w", j.Argv[0], err))
	}
	report.Close()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return setupFailed
		}
		if pid != cmd.Process.Pid {
			continue // an orphan of the command, reaped
		}
		if ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ws.ExitStatus()
	}
}

func termOr(def string) string {
	if t := os.Getenv("TERM"); t != "" {
		return t
	}
	return def
}

// setup makes the mounts below j.Root and enters it.
func setup(j *job) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	r := j.Root
	// The root becomes a mount point first (pivot_root needs one), so the
	// mounts below are made inside that bind and go along with the pivot.
	if err := unix.Mount(r, r, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s on itself: %w", r, err)
	}
	if err := noDev(r, false); err != nil {
		return err
	}
	mounts := []struct {
		target, fstype, data string
		flags                uintptr
	}{
		{"proc", "proc", "", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{"sys", "sysfs", "", unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{"dev", "tmpfs", "mode=755,size=64k", unix.MS_NOSUID},
		{"run", "tmpfs", "mode=755", unix.MS_NOSUID | unix.MS_NODEV},
	}
	for _, m := range mounts {
		target := filepath.Join(r, m.target)
		if err := mkdirIn(r, target); err != nil {
			return err
		}
		if err := unix.Mount(m.fstype, target, m.fstype, m.flags, m.data); err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, target, err)
		}
	}
	if err := populateDev(filepath.Join(r, "dev")); err != nil {
		return err
	}
	if err := restrictProc(filepath.Join(r, "proc"), filepath.Join(r, "dev/null")); err != nil {
		return err
	}
	if err := unix.Mount("", filepath.Join(r, "dev"), "", unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID, "mode=755,size=64k"); err != nil {
		return fmt.Errorf("/dev read-only: %w", err)
	}
	if !j.NoResolv {
		if err := bindResolv(r, j.Resolv); err != nil {
			return err
		}
	}
	for _, b := range j.Binds {
		if err := bind(r, b); err != nil {
			return err
		}
	}
	unix.Sethostname([]byte("mode"))
	if err := pivotInto(r); err != nil {
		return err
	}
	dir := j.Dir
	if dir == "" {
		dir = "/"
	}
	if err := os.Chdir(dir); err != nil {
		return err
	}
	if err := lockDown(); err != nil {
		return err
	}
	if j.NoSync {
		return nosync.Install() // after no_new_privs: the filter needs it
	}
	return nil
}

// mkdirIn creates dir below root, refusing a symbolic link on the way.
func mkdirIn(root, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if !realDir(root, dir) {
		return fmt.Errorf("%s is a link or not a directory", dir)
	}
	return nil
}

// populateDev fills a fresh /dev tmpfs with the usual nodes and a private
// devpts instance: no host device is reachable from the chroot.
func populateDev(dev string) error {
	nodes := []struct {
		name         string
		major, minor uint32
	}{{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}}
	for _, n := range nodes {
		p := filepath.Join(dev, n.name)
		if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(n.major, n.minor))); err != nil {
			return fmt.Errorf("mknod %s: %w", p, err)
		}
		unix.Chmod(p, 0o666) // past the umask
	}
	for _, d := range []string{"pts", "shm"} {
		if err := os.Mkdir(filepath.Join(dev, d), 0o755); err != nil {
			return err
		}
	}
	if err := unix.Mount("devpts", filepath.Join(dev, "pts"), "devpts", unix.MS_NOSUID|unix.MS_NOEXEC,
		"newinstance,ptmxmode=0666,mode=0620,gid=5"); err != nil {
		return fmt.Errorf("mount devpts: %w", err)
	}
	if err := unix.Mount("shm", filepath.Join(dev, "shm"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
		return fmt.Errorf("mount /dev/shm: %w", err)
	}
	links := map[string]string{"ptmx": "pts/ptmx", "fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dev, name)); err != nil {
			return err
		}
	}
	return nil
}

// bindResolv makes the host's resolv.conf the root's: bound over a regular
// file, or written where a link into /run (a fresh tmpfs) points.
func bindResolv(root, host string) error {
	p := filepath.Join(root, "etc/resolv.conf")
	fi, err := os.Lstat(p)
	if err != nil {
		return nil // no /etc in this root, or prepare left none: nothing to do
	}
	if fi.Mode().IsRegular() {
		return bindFile(host, p, true)
	}
	if fi.Mode()&os.ModeSymlink == 0 {
		return nil
	}
	target, err := os.Readlink(p)
	if err != nil {
		return err
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join("/etc", target)
	}
	target = filepath.Clean(target)
	if !strings.HasPrefix(target, "/run/") {
		return nil
	}
	data, err := os.ReadFile(host)
	if err != nil {
		return nil // the host has none: the chroot has no DNS, as the host
	}
	full := filepath.Join(root, target)
	if err := mkdirIn(root, filepath.Dir(full)); err != nil {
		return err
	}
	return os.WriteFile(full, data, 0o644)
}

func bindFile(src, dst string, readOnly bool) error {
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s on %s: %w", src, dst, err)
	}
	return noDev(dst, readOnly)
}

// bind makes b.Source appear at b.Target inside root.
func bind(root string, b Bind) error {
	fi, err := os.Stat(b.Source)
	if err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	dst := filepath.Join(root, b.Target)
	if fi.IsDir() {
		if err := mkdirIn(root, dst); err != nil {
			return err
		}
	} else {
		if err := mkdirIn(root, filepath.Dir(dst)); err != nil {
			return err
		}
		if _, err := os.Lstat(dst); err != nil {
			if err := os.WriteFile(dst, nil, 0o644); err != nil {
				return err
			}
		}
	}
	return bindFile(b.Source, dst, b.ReadOnly)
}
