package proc

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestAliveZombie: a process that ended but was not reaped (a zombie, as the
// orphans of a killed build stay under a PID 1 that does not reap) is not
// alive; this process is; a reaped one is not.
func TestAliveZombie(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Fatal("this process is not alive")
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	// Not reaped yet: wait until it has exited (a zombie), at most a minute.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d never became a zombie: %q", pid, stat)
		}
	}
	if Alive(pid) {
		t.Errorf("zombie %d counts as alive", pid)
	}
	if st, err := StartTime(pid); err == nil {
		t.Errorf("StartTime of zombie %d: %q, want an error", pid, st)
	}
	if st, err := StartTime(os.Getpid()); err != nil || st == "" || st == "0" {
		t.Errorf("StartTime of this process: %q, %v", st, err)
	}
	cmd.Wait()
	if Alive(pid) {
		t.Errorf("reaped %d counts as alive", pid)
	}
}
