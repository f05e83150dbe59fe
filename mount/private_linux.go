package mount

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// privateEnv marks the process Private re-executed.
const privateEnv = "_MODE_PRIVATE_MOUNTS"

// Private makes the calling program run in a mount namespace of its own, so
// that every mount and loop device it makes goes away with it, however it
// ends: when the last process in a mount namespace dies, the kernel
// unmounts everything in it, and loop devices set to autoclear free
// themselves. The first call re-executes the program (same arguments,
// environment and standard streams) in a new mount namespace with a
// parent-death signal, forwards SIGINT, SIGTERM and SIGHUP to it, waits for
// it and returns reexeced true with its exit code: the caller exits with
// it. In the re-executed program Private makes every mount private (nothing
// propagates to the host) and returns reexeced false: go on.
func Private() (reexeced bool, code int, err error) {
	if os.Getenv(privateEnv) != "" {
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			return false, 0, fmt.Errorf("private mounts: %w", err)
		}
		return false, 0, nil
	}
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(os.Environ(), privateEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return false, 0, fmt.Errorf("private mount namespace: %w", err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sigs:
				cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true, 0, nil
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return true, 128 + int(ws.Signal()), nil
		}
		return true, exit.ExitCode(), nil
	}
	return true, 1, err
}
