package registrytest

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ModeServe starts the repository's bin/mode (built by make build) as
// `mode serve --addr 127.0.0.1:0 --store dir` plus args, a process of its
// own, stopped at the end of the test (SIGINT, then SIGKILL after 15 s). It
// returns the host:port it listens on and its PID. root is the repository's
// top, relative to the test's directory.
func ModeServe(tb testing.TB, root, dir string, args ...string) (addr string, pid int) {
	tb.Helper()
	bin, err := filepath.Abs(filepath.Join(root, "bin", "mode"))
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		tb.Fatalf("bin/mode not found (run make build): %v", err)
	}
	cmd := exec.Command(bin, append([]string{"-q", "serve", "--addr", "127.0.0.1:0", "--store", dir}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tb.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		tb.Fatalf("mode serve: %v", err)
	}
	return strings.TrimPrefix(strings.TrimSpace(line), "http://"), cmd.Process.Pid
}
