package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeKilledSwept: mode serve killed with SIGKILL leaves its netboot
// directory in the temp folder; the next start removes it (and only it:
// a live server's stays), and a stale upload file of the store is counted
// by mode gc.
func TestServeKilledSwept(t *testing.T) {
	tmp, storeDir := t.TempDir(), t.TempDir()
	live := filepath.Join(tmp, "mode-netboot-1-1") // pid 1 runs: not swept
	if err := os.Mkdir(live, 0o755); err != nil {
		t.Fatal(err)
	}
	start := func() (*exec.Cmd, chan error) {
		srv := modeCmd("serve", "--addr", "127.0.0.1:0", "--store", storeDir)
		srv.Env = append(srv.Env, "TMPDIR="+tmp)
		stdout, err := srv.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- srv.Wait() }()
		t.Cleanup(func() { srv.Process.Kill() })
		if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
			t.Fatalf("mode serve printed no URL: %v", err)
		}
		return srv, exited
	}
	netboot := func() []string {
		m, _ := filepath.Glob(filepath.Join(tmp, "mode-netboot-*"))
		return m
	}
	first, exited := start()
	own := "mode-netboot-" + strconv.Itoa(first.Process.Pid) + "-"
	if got := netboot(); len(got) != 2 || !strings.Contains(strings.Join(got, " "), own) {
		t.Fatalf("temp folder %v; want the live one and %s*", got, own)
	}
	first.Process.Signal(syscall.SIGKILL)
	select {
	case <-exited:
	case <-time.After(time.Minute):
		t.Fatal("mode serve outlived SIGKILL")
	}
	if got := netboot(); len(got) != 2 {
		t.Fatalf("after SIGKILL: %v; want what the killed server left", got)
	}
	second, exited := start()
	got := netboot()
	if len(got) != 2 || got[0] != live || !strings.Contains(got[1], "mode-netboot-"+strconv.Itoa(second.Process.Pid)+"-") {
		t.Errorf("after the next start: %v; want %s and the new server's", got, live)
	}
	second.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(time.Minute):
		t.Fatal("mode serve outlived SIGTERM")
	}
	if got := netboot(); len(got) != 1 || got[0] != live {
		t.Errorf("after SIGTERM: %v; want only %s", got, live)
	}

	// A stale upload file in the store: gc removes it and says so.
	up := filepath.Join(storeDir, ".tmp", "upload-stale")
	os.MkdirAll(filepath.Dir(up), 0o755)
	if err := os.WriteFile(up, make([]byte, 1234), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(up, old, old)
	var o bytes.Buffer
	gc := modeCmd("gc", "--store", storeDir)
	gc.Stdout = &o
	if err := gc.Run(); err != nil || strings.TrimSpace(o.String()) != "removed 0 blobs (0 bytes) and 1 stale temporary files (1234 bytes)" {
		t.Errorf("gc: %q, %v", o.String(), err)
	}
}
