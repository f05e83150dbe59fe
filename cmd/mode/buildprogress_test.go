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
