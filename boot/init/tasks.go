package modeinit

import (
	"errors"
	"os"
	"strings"
	"sync"
	"time"
)

// task is a boot step that runs in the background while the steps after it
// go on (the kernel modules the network does not need, DHCP, the copy of the
// mode binary); a later step waits for it. It logs its summary and duration
// when it ends, as do does for a step.
type task struct {
	name string
	done chan struct{}
	msg  string
	err  error
}

// background starts step s as a task.
func (b *boot) background(s step) *task {
	t := &task{name: s.name, done: make(chan struct{})}
	if !s.quiet {
		b.reserve(s.name)
	}
	go func() {
		defer close(t.done)
		t.msg, t.err = b.do(s)
	}()
	return t
}

// waitFor is the step that waits for the task *t (nil: none was started):
// the boot fails at the task's name if the task failed. A wait that took
// time is logged with mode.debug.
func (b *boot) waitFor(t **task) step {
	return step{name: "wait", quiet: true, run: func() (string, error) {
		if *t == nil {
			return "", nil
		}
		start := time.Now()
		<-(*t).done
		b.debugf("waited %s for %s", seconds(time.Since(start)), (*t).name)
		if (*t).err != nil {
			return "", &taskError{(*t).name, (*t).err}
		}
		return "", nil
	}}
}

// taskError is a task's failure, seen by the step that waited for it.
type taskError struct {
	step string
	err  error
}

func (e *taskError) Error() string { return e.err.Error() }
func (e *taskError) Unwrap() error { return e.err }

// failedStep is the name of the step err failed: the task's for a task.
func failedStep(s step, err error) string {
	var te *taskError
	if errors.As(err, &te) {
		return te.step
	}
	return s.name
}

// timings guards the boot report's steps, which tasks record too.
var timingsMu sync.Mutex

func (b *boot) logStep(name string, d time.Duration, msg string, err error) {
	timingsMu.Lock()
	b.record(name, d, msg, err)
	timingsMu.Unlock()
	if err == nil {
		if msg == "" {
			msg = name
		}
		b.logf("%s in %s", msg, seconds(d))
	}
}

// uptime is the kernel's uptime (/proc/uptime), for the log lines that place
// the init's start and end on the boot's time line: what comes before the
// init (firmware aside) is the kernel's, the initramfs's unpacking included.
func uptime() string {
	b, err := os.ReadFile("/proc/uptime")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0] + "s"
	}
	return "?"
}
