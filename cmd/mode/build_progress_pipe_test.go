package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestBuildViewPipelined: on a terminal a pipelined build's status line
// shows every module under way, in the order they started, each with its
// own phase and bar; a module's part goes when its squash is done.
func TestBuildViewPipelined(t *testing.T) {
	var tty bytes.Buffer
	v := &buildView{w: &tty, tty: true, stop: make(chan struct{})}
	v.Phase("essential", "squash")
	v.Phase("lightx", "apt")
	v.Phase("smtp", "apt")
	v.Fraction("essential", "squash", 1, 2)
	v.Fraction("lightx", "apt", 30, 100)
	v.Fraction("essential", "squash", 2, 2)
	v.Phase("smtp", "run 1/1")
	v.Close()
	got := tty.String()
	for _, want := range []string{
		"\r\x1b[Kessential: squash (0s)  |  lightx: apt (0s)  |  smtp: apt (0s)",
		"\r\x1b[Kessential: squash [##########----------] 50% (0s)  |  lightx: apt (0s)",
		"\r\x1b[Kessential: squash [####################] 100% (0s)  |  lightx: apt [######--------------] 30% (0s)",
		"\r\x1b[Klightx: apt [######--------------] 30% (0s)  |  smtp: run 1/1 (0s)", // essential done
	} {
		if !strings.Contains(got, want) {
			t.Errorf("on a terminal %q lacks %q", got, want)
		}
	}
}
