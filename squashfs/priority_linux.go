package squashfs

import (
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"
)

// quietNice is the nice value of a background squash.
const quietNice = 10

// ioprio_set(2)'s constants: who is a thread, best-effort class, level 7
// (the lowest that still gets the disk when others want it; the idle class
// could wait without end behind a busy build).
const (
	ioprioWhoProcess = 1
	ioprioClassBE    = 2
	ioprioClassShift = 13
)

// runQuiet runs cmd at nice quietNice and best-effort I/O level 7. The
// child inherits both from the thread that forks it: a thread of its own,
// locked to a goroutine that never unlocks it, so the runtime ends the
// thread with the goroutine and no other goroutine ever runs reniced. The
// goroutine waits for cmd there: a parent-death signal (proc.DieWithParent)
// comes when the thread that forked the child ends, not the process, so the
// thread must outlive the child. Failing to lower the priority is not an
// error (a hint, as nice(1) takes it).
func runQuiet(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see above
		tid := unix.Gettid()
		unix.Setpriority(unix.PRIO_PROCESS, tid, quietNice)
		unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), ioprioClassBE<<ioprioClassShift|7)
		err := cmd.Start()
		if err == nil {
			err = cmd.Wait()
		}
		errc <- err
	}()
	return <-errc
}
