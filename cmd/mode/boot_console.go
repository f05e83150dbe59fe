package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/console"
	"golang.org/x/term"
)

// bootConsole runs m until QEMU exits (the guest powers off) or the user
// leaves, with the guest's serial console on mode's standard input and
// output. On a terminal in the foreground, mode owns the terminal: raw
// while QEMU runs, what is typed goes to QEMU over a pipe, Ctrl-a x leaves,
// and the terminal's modes are restored however the boot ends (QEMU never
// has the terminal: docs/boot.md, "The console"). A session on a terminal
// has no time limit unless --timeout is given.
func bootConsole(ctx context.Context, m qemu.Machine, w qemu.Watch, timeoutSet bool) error {
	switch {
	case !term.IsTerminal(int(os.Stdin.Fd())):
		w.Stdin = os.Stdin // a pipe or a file: QEMU reads it as it is
	case !console.Interactive(os.Stdin):
		fmt.Fprintln(os.Stderr, "boot: not the terminal's foreground job: the console is output only")
	default:
		if !timeoutSet {
			w.Timeout = -1
		}
		return terminalConsole(ctx, m, w)
	}
	_, err := qemu.Run(ctx, m, w)
	return err
}

// terminalConsole runs m with the terminal os.Stdin as its console.
func terminalConsole(ctx context.Context, m qemu.Machine, w qemu.Watch) error {
	// A hang-up (the terminal closed) ends the boot as SIGINT and SIGTERM
	// do (main); Ctrl-c and Ctrl-z are keys for the guest.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGHUP)
	defer stop()
	ctx, leave := context.WithCancelCause(ctx)
	defer leave(nil)
	fmt.Fprintf(os.Stderr, "boot: the guest's serial console on this terminal; %s leaves\n", console.LeaveKeys)
	t, err := console.Open(os.Stdin)
	if err != nil {
		return err
	}
	defer t.Close()
	w.Stdin = t.Input(func() { leave(console.ErrLeft) })
	_, err = qemu.Run(ctx, m, w)
	if cerr := t.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if errors.Is(err, console.ErrLeft) {
		fmt.Fprintf(os.Stderr, "\nboot: %v: the guest is stopped\n", err)
		return nil
	}
	return err
}
