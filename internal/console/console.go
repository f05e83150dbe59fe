package console

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// LeaveKeys is the key sequence that leaves the console, as QEMU's own
// console multiplexer spells it; Ctrl-a twice types one Ctrl-a.
const LeaveKeys = "Ctrl-a x"

// ErrLeft is the cause of a console left with LeaveKeys.
var ErrLeft = errors.New("left the console (" + LeaveKeys + ")")

const ctrlA = 0x01

// Terminal is the user's terminal in raw mode. Its own open file
// description of the terminal is non-blocking (Go's poller), so Close ends a
// Read in progress and the flags of the one the shell shares with mode stay
// as they were.
type Terminal struct {
	f     *os.File
	state *term.State
	once  sync.Once
	err   error
}

// Interactive reports whether f is a terminal mode may read and set the
// modes of: a terminal whose foreground process group is mode's (or that is
// not mode's controlling terminal). A job in the background must not: the
// kernel would stop it (SIGTTIN, SIGTTOU).
func Interactive(f *os.File) bool {
	fd := int(f.Fd())
	if !term.IsTerminal(fd) {
		return false
	}
	pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	if errors.Is(err, unix.ENOTTY) {
		return true // not our controlling terminal: no job control on it
	}
	return err == nil && pgrp == unix.Getpgrp()
}

// Open puts the terminal f in raw mode: every key, Ctrl-c and Ctrl-z too,
// goes to the guest, and the guest's output is shown as it comes. Close
// puts the modes back.
func Open(f *os.File) (*Terminal, error) {
	own, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	state, err := term.MakeRaw(int(own.Fd()))
	if err != nil {
		own.Close()
		return nil, fmt.Errorf("console: raw mode: %w", err)
	}
	return &Terminal{f: own, state: state}, nil
}

// Input returns what the user types, without LeaveKeys: once they are
// typed, it calls leave and ends (io.EOF).
func (t *Terminal) Input(leave func()) io.Reader {
	return &escapeReader{r: t.f, leave: leave}
}

// Close restores the terminal's modes and ends Input. It may be called
// more than once.
func (t *Terminal) Close() error {
	t.once.Do(func() {
		t.err = term.Restore(int(t.f.Fd()), t.state)
		if err := t.f.Close(); t.err == nil {
			t.err = err
		}
	})
	return t.err
}

// escapeReader passes r on and takes out Ctrl-a x (then calls leave and
// ends) and the first Ctrl-a of Ctrl-a Ctrl-a; Ctrl-a before any other key
// passes on.
type escapeReader struct {
	r      io.Reader
	leave  func()
	ctrlA  bool // the last byte read was a Ctrl-a, held back
	done   bool
	buf    [512]byte
	queued []byte
}

func (e *escapeReader) Read(p []byte) (int, error) {
	for len(e.queued) == 0 {
		if e.done {
			return 0, io.EOF
		}
		n, err := e.r.Read(e.buf[:])
		e.queued = e.filter(e.buf[:n])
		if err != nil && len(e.queued) == 0 {
			return 0, err
		}
	}
	n := copy(p, e.queued)
	e.queued = e.queued[n:]
	return n, nil
}

// filter returns what of in goes to the guest.
func (e *escapeReader) filter(in []byte) []byte {
	out := make([]byte, 0, len(in)+1)
	for _, b := range in {
		switch {
		case e.ctrlA && b == 'x':
			e.done = true
			e.leave()
			return out
		case e.ctrlA:
			e.ctrlA = false
			if b != ctrlA {
				out = append(out, ctrlA)
			}
			out = append(out, b)
		case b == ctrlA:
			e.ctrlA = true
		default:
			out = append(out, b)
		}
	}
	return out
}
