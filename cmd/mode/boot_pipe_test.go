package main

import (
	"testing"
	"time"
)

// pipeConsole is mode boot without --expect, its standard input a pipe:
// the guest's serial console as it is (docs/boot.md, "The console"), as a
// script at the console types into it. What mode prints (the guest's
// console, and mode's own lines) is kept to wait for.
type pipeConsole struct{ *session }

// startPipeConsole runs mode with args, giving up on it after timeout.
func startPipeConsole(t *testing.T, timeout time.Duration, env []string, args ...string) *pipeConsole {
	t.Helper()
	cmd := modeCmd(args...)
	cmd.Env = append(cmd.Env, env...)
	s := newSession(t, cmd, timeout)
	cmd.Stdout, cmd.Stderr = s, s
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.in, s.end = in, s.exited // exec's Wait copies all the output first
	s.start()
	return &pipeConsole{s}
}
