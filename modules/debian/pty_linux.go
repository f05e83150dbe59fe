package debian

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/mode-build/mode/internal/pty"
)

// barReader copies what a tool writes to tty through a BarFilter.
type barReader struct {
	ptm, tty *os.File
	filter   *BarFilter
	done     chan struct{}
}

// startBars opens a pseudo-terminal whose text goes to w and whose bars go
// to progress.
func startBars(w io.Writer, progress func(string, float64)) (*barReader, error) {
	ptm, tty, err := pty.Open()
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
