package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"syscall"
)

// Alive reports whether process pid runs. A zombie does not: it has ended
// and only waits for a parent to reap it, which an orphan's init may never do
// (a container's or a micro-VM's PID 1 often does not), so what a killed
// build left must not wait for it.
func Alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	f, err := stat(pid)
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	return f == nil || !ended(f[0])
}

// StartTime is the start time of process pid (in clock ticks after boot,
// /proc/PID/stat's field 22): with its pid, what names one process for
// good. An error when there is no such process, or it has ended (a zombie).
func StartTime(pid int) (string, error) {
	f, err := stat(pid)
	if err != nil {
		return "", err
	}
	if len(f) < 20 {
		return "", fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	if ended(f[0]) {
		return "", fmt.Errorf("process %d has ended", pid)
	}
	return string(f[19]), nil
}

// stat returns the fields of /proc/PID/stat after the command's name (its
// state first); nil when they cannot be told apart.
func stat(pid int) ([][]byte, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	// pid (comm) STATE …: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return nil, nil
	}
	f := bytes.Fields(data[i+1:])
	if len(f) == 0 {
		return nil, nil
	}
	return f, nil
}

// ended says whether a process state is a zombie's or a dead one's.
func ended(state []byte) bool { return string(state) == "Z" || string(state) == "X" }
