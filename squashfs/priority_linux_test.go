package squashfs

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/proc"
	"github.com/mode-build/mode/internal/testutil"
)

// TestRunQuiet: the command runs at nice 10 and best-effort I/O level 7,
// lives to its end with a parent-death signal set (which comes when the
// thread that forked it ends), and no thread of this process stays reniced
// after.
func TestRunQuiet(t *testing.T) {
	testutil.RequiresTools(t, "ionice")
	var out bytes.Buffer
	cmd := proc.Command(context.Background(), "/bin/sh", "-c", "cut -d' ' -f19 /proc/$$/stat; ionice; sleep 1; echo lived")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := runQuiet(cmd); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if !strings.Contains(out.String(), "lived") {
		t.Errorf("the command did not live to its end: %q", out.String())
	}
	if got := strings.Fields(out.String()); len(got) < 1 || got[0] != "10" || !strings.Contains(out.String(), "best-effort: prio 7") {
		t.Errorf("nice and I/O class of the command: %q, want 10 and best-effort: prio 7", out.String())
	}
	// The reniced thread ends with its goroutine; wait for it (a minute at most).
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		reniced := renicedThreads(t)
		if len(reniced) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("threads of this process left at nice 10: %v", reniced)
		}
	}
}

func renicedThreads(t *testing.T) []string {
	t.Helper()
	stats, _ := filepath.Glob("/proc/self/task/*/stat")
	var reniced []string
	for _, s := range stats {
		data, err := os.ReadFile(s)
		if err != nil {
			continue // the thread ended
		}
		i := bytes.LastIndexByte(data, ')')
		if f := strings.Fields(string(data[i+2:])); len(f) > 16 && f[16] != "0" {
			reniced = append(reniced, s+": nice "+f[16])
		}
	}
	return reniced
}
