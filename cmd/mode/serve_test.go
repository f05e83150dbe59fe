package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/testutil"
)

// TestServePushPullCommands runs mode serve, push, pull and gc as a user
// would: a push with a wrong token is refused, a push with the right one
// lands in the served store, a pull brings identical layers back, and
// SIGTERM stops the server with status 0.
func TestServePushPullCommands(t *testing.T) {
	testutil.RequiresTools(t, "mksquashfs")
	built, served, pulled, out := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	s, ls := twoChains(t, built)

	srv := modeCmd("serve", "--addr", "127.0.0.1:0", "--store", served, "--push-token", "t0ken")
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	defer srv.Process.Kill() // a no-op once it exited
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("mode serve printed no URL: %v", err)
	}
	host := strings.TrimPrefix(strings.TrimSpace(line), "http://")

	run := func(args ...string) (string, string, error) { // stdout's one line
		o, e, err := runMode(t, args...)
		return strings.TrimSpace(o), e, err
	}
	if _, stderr, err := run("push", "--store", built, "--token", "wrong", "top", host+"/chains"); err == nil || !strings.Contains(stderr, "wrong push token") {
		t.Errorf("push with a wrong token: %v, stderr %q", err, stderr)
	}
	d, stderr, err := run("push", "--store", built, "--token", "t0ken", "top", host+"/chains")
	if err != nil {
		t.Fatalf("push: %v: %s", err, stderr)
	}
	if _, _, want, _ := s.Chain("mode", "top"); d != string(want) {
		t.Errorf("push printed %q, want %s", d, want)
	}
	pd, stderr, err := run("pull", host+"/chains:top", "--store", pulled, "--out", out)
	if err != nil {
		t.Fatalf("pull: %v: %s", err, stderr)
	}
	if pd != d {
		t.Errorf("pull printed %q, want %s", pd, d)
	}
	for _, l := range ls {
		a, _ := os.ReadFile(l.Path)
		b, err := os.ReadFile(filepath.Join(out, l.Meta.File))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs after the round trip (%v)", l.Meta.File, err)
		}
	}
	if o, stderr, err := run("gc", "--store", pulled); err != nil || o != "removed 0 blobs (0 bytes)" {
		t.Errorf("gc: %q, %v: %s", o, err, stderr)
	}

	srv.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("mode serve after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("mode serve still running 15s after SIGTERM")
	}
}
