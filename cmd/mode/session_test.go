package main

import (
	"bytes"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// session is a mode process a test talks to as a user at its console
// does: what it prints is kept to wait for, keys are typed into it. The
// pipe (pipeConsole) and the terminal (ttySession) are its two kinds.
type session struct {
	t        *testing.T
	cmd      *exec.Cmd
	in       io.Writer // where typeIn types
	timeout  time.Duration
	deadline time.Time
	// end is closed once everything the process printed is in seen (nil
	// on a terminal: output may follow the exit there).
	end    chan struct{}
	exited chan struct{}
	// why says more when a wait times out (the QEMU threads' states).
	why func() string

	mu   sync.Mutex
	seen bytes.Buffer
	from int           // waitFor looks from here on
	more chan struct{} // something was written to seen
}

func newSession(t *testing.T, cmd *exec.Cmd, timeout time.Duration) *session {
	return &session{t: t, cmd: cmd, timeout: timeout, deadline: time.Now().Add(timeout),
		more: make(chan struct{}, 1), exited: make(chan struct{})}
}

// start starts the process; the test's end kills it if it still runs
// (mode's QEMU gets SIGKILL too: its parent-death signal).
func (s *session) start() {
	s.t.Helper()
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()
	s.t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			s.cmd.Process.Kill()
			<-s.exited
		}
	})
}

// Write keeps what the process prints.
func (s *session) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.seen.Write(p)
	s.mu.Unlock()
	select {
	case s.more <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (s *session) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen.String()
}

// find moves past text if it was printed after what earlier waits found.
func (s *session) find(text string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := bytes.Index(s.seen.Bytes()[s.from:], []byte(text))
	if at >= 0 {
		s.from += at + len(text)
	}
	return at >= 0
}

// waitFor waits until text appears after what earlier waits found; the
// end of the output first, or the deadline, fails the test.
func (s *session) waitFor(text string) {
	s.t.Helper()
	timeout := time.NewTimer(time.Until(s.deadline))
	defer timeout.Stop()
	for !s.find(text) {
		select {
		case <-s.more:
		case <-s.end:
			if !s.find(text) {
				s.t.Fatalf("mode exited (%v) before %q:\n%s", s.cmd.ProcessState, text, s.text())
			}
			return
		case <-timeout.C:
			more := ""
			if s.why != nil {
				more = "; " + s.why()
			}
			s.t.Fatalf("no %q within %s%s:\n%s", text, s.timeout, more, s.text())
		}
	}
}

// typeIn types keys into the console.
func (s *session) typeIn(keys string) {
	s.t.Helper()
	if _, err := io.WriteString(s.in, keys); err != nil {
		s.t.Fatalf("typing %q: %v\n%s", strings.TrimSpace(keys), err, s.text())
	}
}

// wait returns the process's exit code once it exited.
func (s *session) wait() int {
	s.t.Helper()
	select {
	case <-s.exited:
	case <-time.After(time.Until(s.deadline)):
		s.t.Fatalf("mode still runs after %s\n%s", s.timeout, s.text())
	}
	return s.cmd.ProcessState.ExitCode()
}
