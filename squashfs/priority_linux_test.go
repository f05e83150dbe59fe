package squashfs

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mode-build/mode/internal/proc"
	"github.com/mode-build/mode/internal/testutil"
	"golang.org/x/sys/unix"
)

// TestRunQuiet: the command runs at nice 10 and best-effort I/O level 7,
// lives to its end with a parent-death signal set (which comes when the
// thread that forked it ends), and when runQuiet returns no thread of this
// process is left lowered: neither a thread back in the Go scheduler nor the
// main thread, which the runtime cannot end (run alone, the goroutine of
// runQuiet starts on it). Root: putting a nice value back up needs
// CAP_SYS_NICE. Three runs, each checked at once, no waiting.
func TestRunQuiet(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresTools(t, "ionice")
	before := threadNices(t)
	base := before[os.Getpid()]
	want := max(base, quietNice)
	for i := range 3 {
		var out bytes.Buffer
		cmd := proc.Command(context.Background(), "/bin/sh", "-c", "cut -d' ' -f19 /proc/$$/stat; ionice; sleep 1; echo lived")
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := runQuiet(cmd); err != nil {
			t.Fatalf("run %d: %v: %s", i, err, out.String())
		}
		if !strings.Contains(out.String(), "lived") {
			t.Errorf("run %d: the command did not live to its end: %q", i, out.String())
		}
		if got := strings.Fields(out.String()); len(got) < 1 || got[0] != strconv.Itoa(want) || !strings.Contains(out.String(), "best-effort: prio 7") {
			t.Errorf("run %d: nice and I/O class of the command: %q, want %d and best-effort: prio 7", i, out.String(), want)
		}
		for tid, nice := range threadNices(t) {
			if old, ok := before[tid]; nice != base && !(ok && old == nice) {
				t.Errorf("run %d: thread %d of this process (main thread: %v) left at nice %d, was %d", i, tid, tid == os.Getpid(), nice, base)
			}
			if io, _, errno := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, uintptr(tid), 0); errno == 0 && io == ioprioQuiet {
				t.Errorf("run %d: thread %d of this process left at best-effort I/O level 7", i, tid)
			}
		}
	}
}

// threadNices returns the nice value of each thread of this process.
func threadNices(t *testing.T) map[int]int {
	t.Helper()
	stats, _ := filepath.Glob("/proc/self/task/*/stat")
	nices := map[int]int{}
	for _, s := range stats {
		data, err := os.ReadFile(s)
		if err != nil {
			continue // the thread ended
		}
		i := bytes.LastIndexByte(data, ')')
		f := strings.Fields(string(data[i+2:]))
		if len(f) <= 16 {
			t.Fatalf("%s: %q", s, data)
		}
		tid, err1 := strconv.Atoi(filepath.Base(filepath.Dir(s)))
		nice, err2 := strconv.Atoi(f[16])
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %q", s, data)
		}
		nices[tid] = nice
	}
	return nices
}
