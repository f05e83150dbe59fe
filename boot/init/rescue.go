package modeinit

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"time"
)

const shell = "/bin/sh"

// rescue reports the failed step and runs a shell on the console for ever:
// PID 1 never exits, so the kernel never panics.
func (b *boot) rescue(stepName string, err error) {
	if !errors.Is(err, errReported) {
		b.logf("FAILED at %s: %v", stepName, err)
	}
	b.logf("rescue shell (%s); the boot log above says what went wrong", shell)
	for {
		if err := b.shell("(mode rescue) # "); err != nil {
			b.logf("rescue shell: %v", err)
		}
		time.Sleep(time.Second)
	}
}

// debugShell runs a shell before switch_root (mode.debug); the boot goes on
// when it exits.
func (b *boot) debugShell() (string, error) {
	b.logf("mode.debug: shell before switch_root; the new root is %s; exit to go on", newRoot)
	if err := b.shell("(mode debug) # "); err != nil {
		b.logf("debug shell: %v", err)
	}
	return "debug shell done", nil
}

func (b *boot) shell(ps1 string) error {
	cmd := exec.Command(shell)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = []string{"PATH=/bin:/sbin:/usr/bin:/usr/sbin", "HOME=/", "TERM=linux", "PS1=" + ps1}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd.Run()
}
