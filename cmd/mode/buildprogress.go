package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// buildView renders a build's progress on stderr: on a terminal one status
// line (module, phase, a bar where the phase tells how far it is, elapsed
// time) redrawn every second and around the steps' own output; elsewhere one
// plain line per phase.
type buildView struct {
	w      io.Writer
	tty    bool
	mu     sync.Mutex
	module string
	phase  string
	line   string
	start  time.Time
	shown  bool
	pct    int // the phase's percent, -1 when not known
	stop   chan struct{}
	done   sync.WaitGroup
}

func newBuildView(f *os.File) *buildView {
	v := &buildView{w: f, stop: make(chan struct{})}
	if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 && plainTerminal() {
		v.tty = true
		v.done.Add(1)
		go v.tick()
	}
	return v
}

// Phase takes maker.Maker's Progress events.
func (v *buildView) Phase(module, phase string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.module, v.phase, v.pct = module, phase, -1
	v.line, v.start = fmt.Sprintf("%s: %s", module, phase), time.Now()
	if !v.tty {
		fmt.Fprintf(v.w, "build %s\n", v.line)
		return
	}
	v.draw()
}

// Fraction takes maker.Maker's Fraction events: on a terminal the current
// phase's line gets a bar; elsewhere nothing is printed.
func (v *buildView) Fraction(module, phase string, done, total int) {
	if total <= 0 || done < 0 {
		return
	}
	pct := min(100, done*100/total)
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.tty || module != v.module || phase != v.phase || v.line == "" || pct == v.pct {
		return
	}
	v.pct = pct
	v.draw()
}

// barWidth is the width of a phase's bar, between its brackets.
const barWidth = 20

// draw rewrites the status line; v.mu is held.
func (v *buildView) draw() {
	if v.line == "" {
		return
	}
	bar := ""
	if v.pct >= 0 {
		n := v.pct * barWidth / 100
		bar = fmt.Sprintf(" [%s%s] %d%%", strings.Repeat("#", n), strings.Repeat("-", barWidth-n), v.pct)
	}
	fmt.Fprintf(v.w, "\r\x1b[K%s%s (%.0fs)", v.line, bar, time.Since(v.start).Seconds())
	v.shown = true
}

func (v *buildView) tick() {
	defer v.done.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-v.stop:
			return
		case <-t.C:
			v.mu.Lock()
			v.draw()
			v.mu.Unlock()
		}
	}
}

// Output is where the steps' output goes: on a terminal the status line is
// cleared before it and drawn again after it; elsewhere stderr itself (a
// file, which the steps' processes write to directly: no pipe that a
// process left behind could hold open).
func (v *buildView) Output() io.Writer {
	if !v.tty {
		return v.w
	}
	return outputWriter{v}
}

type outputWriter struct{ v *buildView }

func (o outputWriter) Write(p []byte) (int, error) {
	v := o.v
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.tty && v.shown {
		fmt.Fprint(v.w, "\r\x1b[K")
		v.shown = false
	}
	n, err := v.w.Write(p)
	if v.tty && len(p) > 0 && p[len(p)-1] == '\n' {
		v.draw()
	}
	return n, err
}

// Clear takes the status line off the terminal until the next phase, before
// a result line goes to stdout.
func (v *buildView) Clear() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.tty && v.shown {
		fmt.Fprint(v.w, "\r\x1b[K")
	}
	v.shown, v.line = false, ""
}

// Close stops the ticker and clears the status line.
func (v *buildView) Close() {
	close(v.stop)
	v.done.Wait()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.tty && v.shown {
		fmt.Fprint(v.w, "\r\x1b[K")
	}
}
