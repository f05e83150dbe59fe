package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/testutil"
)

// TestBuildInterrupted sends SIGINT to mode build in the middle of a step:
// the build stops at once, and leaves no mount, no loop device, no
// workspace, no partial layer and no process of the step behind.
func TestBuildInterrupted(t *testing.T) {
	testutil.RequiresRoot(t)
	dir := filepath.Join(t.TempDir(), "tiny")
	src, _ := filepath.Abs("../../examples/tiny")
	if out, err := exec.Command("cp", "-a", src, dir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	os.WriteFile(filepath.Join(dir, "slow.yaml"), []byte("name: slow\nparent: essential\nrun:\n  - touch /started && sleep 3600\n"), 0o644)
	out, scratch := t.TempDir(), t.TempDir()
	var stderr bytes.Buffer
	cmd := modeCmd("build", "--dir", dir, "--out", out, "--scratch", scratch, "slow")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		started, _ := filepath.Glob(filepath.Join(scratch, "ws-*", "upper", "started"))
		if len(started) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the slow step never started:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("mode build exited 0 after SIGINT")
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("mode build still running 20s after SIGINT")
	}
	if s := stderr.String(); !strings.Contains(s, "module slow:") || !strings.Contains(s, "context canceled") {
		t.Errorf("stderr does not say the build of slow was interrupted:\n%s", stderr.String())
	}
	testutil.NoLeaks(t, scratch)
	testutil.NoLeaks(t, out)
	if entries, _ := os.ReadDir(scratch); len(entries) > 0 {
		t.Errorf("workspace left in %s: %v", scratch, entries)
	}
	if partial, _ := filepath.Glob(filepath.Join(out, "*slow*")); len(partial) > 0 {
		t.Errorf("partial layer left: %v", partial)
	}
	hidden, _ := filepath.Glob(filepath.Join(out, ".*"))
	if len(hidden) > 0 {
		t.Errorf("temporary files left: %v", hidden)
	}
	if out, _ := exec.Command("pgrep", "-f", "sleep 3600").Output(); len(out) > 0 {
		t.Errorf("step processes left: %s", out)
	}
}
