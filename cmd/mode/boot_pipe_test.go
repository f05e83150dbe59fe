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

// pipeConsole is mode boot without --expect, its standard input a pipe:
// the guest's serial console as it is (docs/boot.md, "The console"), as a
// script at the console types into it. What mode prints (the guest's
// console, and mode's own lines) is kept to wait for.
type pipeConsole struct {
	t        *testing.T
	cmd      *exec.Cmd
	in       io.WriteCloser
	timeout  time.Duration
	deadline time.Time
	mu       sync.Mutex
	seen     bytes.Buffer
	from     int           // waitFor looks from here on
	more     chan struct{} // something was written to seen
	exited   chan struct{}
}

// startPipeConsole runs mode with args, giving up on it after timeout.
func startPipeConsole(t *testing.T, timeout time.Duration, env []string, args ...string) *pipeConsole {
	t.Helper()
	c := &pipeConsole{t: t, timeout: timeout, deadline: time.Now().Add(timeout), more: make(chan struct{}, 1), exited: make(chan struct{})}
	c.cmd = modeCmd(args...)
	c.cmd.Env = append(c.cmd.Env, env...)
	c.cmd.Stdout, c.cmd.Stderr = c, c
	in, err := c.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.in = in
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			c.cmd.Process.Kill() // mode's QEMU gets SIGKILL too (its parent-death signal)
			<-c.exited
		}
	})
	return c
}

// Write keeps what mode prints.
func (c *pipeConsole) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.seen.Write(p)
	c.mu.Unlock()
	select {
	case c.more <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (c *pipeConsole) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen.String()
}

// waitFor waits until text appears after what earlier waits found; mode
// exiting first, or the deadline, fails the test.
func (c *pipeConsole) waitFor(text string) {
	c.t.Helper()
	timeout := time.NewTimer(time.Until(c.deadline))
	defer timeout.Stop()
	for {
		c.mu.Lock()
		at := bytes.Index(c.seen.Bytes()[c.from:], []byte(text))
		if at >= 0 {
			c.from += at + len(text)
		}
		c.mu.Unlock()
		if at >= 0 {
			return
		}
		select {
		case <-c.more:
		case <-c.exited:
			c.mu.Lock()
			found := bytes.Contains(c.seen.Bytes()[c.from:], []byte(text))
			c.mu.Unlock()
			if !found {
				c.t.Fatalf("mode exited (%v) before %q:\n%s", c.cmd.ProcessState, text, c.text())
			}
		case <-timeout.C:
			c.t.Fatalf("no %q within %s:\n%s", text, c.timeout, c.text())
		}
	}
}

// typeIn writes keys to the guest's console.
func (c *pipeConsole) typeIn(keys string) {
	c.t.Helper()
	if _, err := io.WriteString(c.in, keys); err != nil {
		c.t.Fatalf("typing %q: %v\n%s", strings.TrimSpace(keys), err, c.text())
	}
}

// wait returns mode's exit code once it exited.
func (c *pipeConsole) wait() int {
	c.t.Helper()
	select {
	case <-c.exited:
	case <-time.After(time.Until(c.deadline)):
		c.t.Fatalf("mode still runs after %s\n%s", c.timeout, c.text())
	}
	return c.cmd.ProcessState.ExitCode()
}
