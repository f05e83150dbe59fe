package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestBuildView: off a terminal a line per phase and the steps' output as it
// is; on one a status line cleared around the steps' output and before a
// result line.
func TestBuildView(t *testing.T) {
	var plain bytes.Buffer
	v := &buildView{w: &plain, stop: make(chan struct{})}
	v.Phase("base", "bootstrap")
	v.Output().Write([]byte("I: running apt-get update...\n"))
	v.Phase("base", "squash")
	v.Close()
	if got, want := plain.String(), "build base: bootstrap\nI: running apt-get update...\nbuild base: squash\n"; got != want {
		t.Errorf("off a terminal:\n%q\nwant\n%q", got, want)
	}

	var tty bytes.Buffer
	v = &buildView{w: &tty, tty: true, stop: make(chan struct{})}
	v.Phase("console", "run 1/2")
	v.Output().Write([]byte("hello\n"))
	v.Clear()
	v.Close()
	got := tty.String()
	for _, want := range []string{
		"\r\x1b[Kconsole: run 1/2 (0s)",             // the status line
		"\r\x1b[Khello\n\r\x1b[Kconsole: run 1/2 (", // cleared for the output, drawn again
	} {
		if !strings.Contains(got, want) {
			t.Errorf("on a terminal %q lacks %q", got, want)
		}
	}
	if !strings.HasSuffix(got, "\r\x1b[K") {
		t.Errorf("on a terminal the status line is not cleared at the end: %q", got)
	}
}

// TestBuildViewFraction: on a terminal the phase's line gets a bar when its
// phase tells how far it is, only for the current phase; off a terminal
// nothing of the bar is printed.
func TestBuildViewFraction(t *testing.T) {
	var tty bytes.Buffer
	v := &buildView{w: &tty, tty: true, stop: make(chan struct{})}
	v.Phase("base", "squash")
	v.Fraction("base", "squash", 58, 100)
	v.Fraction("base", "squash", 58, 100) // the same percent: not drawn again
	v.Fraction("base", "apt", 10, 100)    // not the current phase
	v.Fraction("base", "squash", 200, 200)
	v.Phase("console", "apt")
	v.Close()
	got := tty.String()
	for _, want := range []string{
		"\r\x1b[Kbase: squash (0s)",
		"\r\x1b[Kbase: squash [###########---------] 58% (0s)",
		"\r\x1b[Kbase: squash [####################] 100% (0s)",
		"\r\x1b[Kconsole: apt (0s)", // a new phase: no bar until it tells
	} {
		if !strings.Contains(got, want) {
			t.Errorf("on a terminal %q lacks %q", got, want)
		}
	}
	if n := strings.Count(got, "58%"); n != 1 {
		t.Errorf("58%% drawn %d times, want once: %q", n, got)
	}
	if strings.Contains(got, "10%") {
		t.Errorf("another phase's fraction drawn: %q", got)
	}

	var plain bytes.Buffer
	v = &buildView{w: &plain, stop: make(chan struct{})}
	v.Phase("base", "squash")
	v.Fraction("base", "squash", 1, 2)
	v.Close()
	if got, want := plain.String(), "build base: squash\n"; got != want {
		t.Errorf("off a terminal %q, want %q", got, want)
	}
}
