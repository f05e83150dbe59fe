package debian

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair of 80 columns: the tool writes to
// tty, the Runner reads what it wrote from ptm.
func openPTY() (ptm, tty *os.File, err error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0) // non-blocking: Close ends a Read
	if err != nil {
		return nil, nil, fmt.Errorf("pseudo-terminal: %w", err)
	}
	ptm = os.NewFile(uintptr(fd), "/dev/ptmx")
	fail := func(err error) (*os.File, *os.File, error) {
		ptm.Close()
		return nil, nil, fmt.Errorf("pseudo-terminal: %w", err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		return fail(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		return fail(err)
	}
	if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80}); err != nil {
		return fail(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return fail(err)
	}
	return ptm, tty, nil
}

// barReader copies what a tool writes to tty through a BarFilter.
type barReader struct {
	ptm, tty *os.File
	filter   *BarFilter
	done     chan struct{}
}

// startBars opens a pseudo-terminal whose text goes to w and whose bars go
// to progress.
func startBars(w io.Writer, progress func(string, float64)) (*barReader, error) {
	ptm, tty, err := openPTY()
	if err != nil {
		return nil, err
	}
	b := &barReader{ptm: ptm, tty: tty, filter: &BarFilter{W: w, Progress: progress}, done: make(chan struct{})}
	go func() {
		defer close(b.done)
		io.Copy(b.filter, ptm) // ends with EIO once no process holds tty
		b.filter.Close()
	}()
	return b, nil
}

// started closes the Runner's own copy of tty, once the tool has it.
func (b *barReader) started() { b.tty.Close() }

// finish waits for the tool's last words and closes the terminal. A process
// the tool left behind that still holds the terminal is not waited for long.
func (b *barReader) finish() {
	select {
	case <-b.done:
	case <-time.After(5 * time.Second):
	}
	b.ptm.Close()
	<-b.done
}

// lockedWriter serializes the tool's stdout (copied by os/exec) and its
// terminal (copied by a barReader) into one writer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
