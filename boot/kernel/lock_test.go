package kernel

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestFetchWaitsForLock: Fetch into a directory another process is
// fetching into waits for its lock, then takes the kernel it left there
// instead of fetching again (two test packages or servers once removed
// each other's half-unpacked tree).
func TestFetchWaitsForLock(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		k   *Kernel
		err error
	}
	done := make(chan result, 1)
	go func() {
		k, err := Fetch(ctx, dir, "linux-image-none-such")
		done <- result{k, err}
	}()
	fi, err := os.Stat(filepath.Join(dir, ".fetch.lock"))
	if err != nil {
		t.Fatal(err)
	}
	ino := fi.Sys().(*syscall.Stat_t).Ino
	if !waitBlocked(ino, 60*time.Second) {
		unlock()
		r := <-done
		t.Fatalf("Fetch did not wait for the directory's lock within 60 s (it returned %v, %v)", r.k, r.err)
	}
	// The other fetch ends, leaving a kernel.
	os.WriteFile(filepath.Join(dir, "linux-image-9.9-test_1_amd64.deb"), nil, 0o644)
	os.MkdirAll(filepath.Join(dir, "root/boot"), 0o755)
	os.WriteFile(filepath.Join(dir, "root/boot/vmlinuz-9.9-test"), nil, 0o644)
	unlock()
	select {
	case r := <-done:
		if r.err != nil || r.k.Version != "9.9-test" {
			t.Fatalf("Fetch after the lock: %+v, %v; want the kernel 9.9-test left there", r.k, r.err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("Fetch did not return within 2 minutes of the lock's release")
	}
}

// waitBlocked waits until /proc/locks shows a process blocked on a lock of
// inode ino (a line "N: -> FLOCK ...").
func waitBlocked(ino uint64, timeout time.Duration) bool {
	suffix := []byte(fmt.Sprintf(":%d ", ino))
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		data, _ := os.ReadFile("/proc/locks")
		for _, l := range bytes.Split(data, []byte("\n")) {
			if bytes.Contains(l, []byte("->")) && bytes.Contains(append(l, ' '), suffix) {
				return true
			}
		}
	}
	return false
}
