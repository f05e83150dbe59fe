package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/remote"
)

// progressView renders remote's progress events: on a terminal one status
// line redrawn in place (at most ten times a second), elsewhere one line per
// finished blob.
type progressView struct {
	w      io.Writer
	tty    bool
	mu     sync.Mutex
	active map[string]remote.Event
	start  map[string]time.Time
	last   time.Time
}

func newProgressView(w io.Writer) *progressView {
	p := &progressView{w: w, active: map[string]remote.Event{}, start: map[string]time.Time{}}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 && plainTerminal() {
			p.tty = true
		}
	}
	return p
}

// Event takes one event (remote.WithProgress(p.Event)).
func (p *progressView) Event(e remote.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := string(e.Digest)
	if e.State == remote.Started {
		p.start[key] = time.Now()
	}
	if !e.State.Final() {
		p.active[key] = e
		p.redraw(false)
		return
	}
	delete(p.active, key)
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	secs := time.Since(p.start[key]).Seconds()
	delete(p.start, key)
	fmt.Fprintf(p.w, "%-40s %10s  %s (%.1fs)\n", e.Name, layers.Size(e.Size), e.State, secs)
	p.redraw(true)
}

// redraw rewrites the status line of the active blobs.
func (p *progressView) redraw(force bool) {
	if !p.tty || len(p.active) == 0 || (!force && time.Since(p.last) < 100*time.Millisecond) {
		return
	}
	p.last = time.Now()
	var parts []string
	for _, e := range p.active {
		pct := 100.0
		if e.Size > 0 {
			pct = 100 * float64(e.Done) / float64(e.Size)
		}
		parts = append(parts, fmt.Sprintf("%s %3.0f%%", e.Name, pct))
	}
	sort.Strings(parts)
	fmt.Fprintf(p.w, "\r\x1b[K%s", strings.Join(parts, "  "))
}

// Close clears the status line.
func (p *progressView) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// plainTerminal reports whether a terminal may be redrawn: not with NO_COLOR
// set (https://no-color.org: no escape sequences, plain lines) nor on a dumb
// terminal.
func plainTerminal() bool {
	return os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
}
