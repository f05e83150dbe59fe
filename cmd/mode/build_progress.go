package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// buildView renders a build's progress on stderr: on a terminal one status
// line (for each module under way, in the order they started: module, phase,
// a bar where the phase tells how far it is, elapsed time; a pipelined build
// has several, e.g. one squashing while its child runs apt) redrawn every
// second and around the steps' own output; elsewhere one plain line per
// phase.
type buildView struct {
	w      io.Writer
	tty    bool
	mu     sync.Mutex
	active []*phaseState // the modules under way, in the order they started
	shown  bool
	stop   chan struct{}
	done   sync.WaitGroup
}

// phaseState is where one module under way is.
type phaseState struct {
	module, phase string
	start         time.Time
	pct           int // the phase's percent, -1 when not known
}

// find returns module's state, nil when it is not under way.
func (v *buildView) find(module string) *phaseState {
	for _, p := range v.active {
		if p.module == module {
			return p
		}
	}
	return nil
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
	if !v.tty {
		fmt.Fprintf(v.w, "build %s: %s\n", module, phase)
		return
	}
	p := v.find(module)
	if p == nil {
		p = &phaseState{module: module}
		v.active = append(v.active, p)
	}
	p.phase, p.pct, p.start = phase, -1, time.Now()
	v.draw()
}

// Fraction takes maker.Maker's Fraction events: on a terminal the module's
// current phase gets a bar, and a finished squash ends the module's part of
// the line; elsewhere nothing is printed.
func (v *buildView) Fraction(module, phase string, done, total int) {
	if total <= 0 || done < 0 {
		return
	}
	pct := min(100, done*100/total)
	v.mu.Lock()
	defer v.mu.Unlock()
	p := v.find(module)
	if !v.tty || p == nil || phase != p.phase || pct == p.pct {
		return
	}
	p.pct = pct
	v.draw()
	if phase == "squash" && done >= total { // the module's last phase
		v.active = slices.DeleteFunc(v.active, func(q *phaseState) bool { return q == p })
	}
}

// barWidth is the width of a phase's bar, between its brackets.
const barWidth = 20

// draw rewrites the status line; v.mu is held.
func (v *buildView) draw() {
	if len(v.active) == 0 {
		return
	}
	var parts []string
	for _, p := range v.active {
		bar := ""
		if p.pct >= 0 {
			n := p.pct * barWidth / 100
			bar = fmt.Sprintf(" [%s%s] %d%%", strings.Repeat("#", n), strings.Repeat("-", barWidth-n), p.pct)
		}
		parts = append(parts, fmt.Sprintf("%s: %s%s (%.0fs)", p.module, p.phase, bar, time.Since(p.start).Seconds()))
	}
	fmt.Fprintf(v.w, "\r\x1b[K%s", strings.Join(parts, "  |  "))
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

// Clear takes the status line off the terminal, before a result line goes
// to stdout; the next tick or phase draws it again.
func (v *buildView) Clear() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.tty && v.shown {
		fmt.Fprint(v.w, "\r\x1b[K")
	}
	v.shown = false
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
