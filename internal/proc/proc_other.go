//go:build !linux

package proc

import (
	"errors"
	"os/exec"
	"syscall"
)

func DieWithParent(*exec.Cmd) {}

// Alive reports whether process pid runs.
func Alive(pid int) bool { return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }
