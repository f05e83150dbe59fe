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
	ioprioQuiet      = ioprioClassBE<<ioprioClassShift | 7
)

// runQuiet runs cmd at nice quietNice (or the thread's own, if lower) and
// best-effort I/O level 7. The child inherits both from the thread that
// forks it: a thread locked to a goroutine of its own, lowered, which waits
// for cmd there (a parent-death signal, proc.DieWithParent, comes when the
// thread that forked the child ends, not the process, so the thread must
// outlive the child), then puts its priorities back before it unlocks. No
// goroutine ever runs on a lowered thread but this one. When the priorities
// cannot be put back (no CAP_SYS_NICE to lower a nice value again), the
// goroutine ends still locked: the runtime then ends the thread, or parks
// it for good when it is the main thread, which it cannot end. Failing to
// lower the priority is not an error (a hint, as nice(1) takes it).
func runQuiet(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		restore := lowerThread(quietNice, ioprioQuiet)
		err := cmd.Start()
		if err == nil {
			err = cmd.Wait()
		}
		if restore() {
			runtime.UnlockOSThread()
		} // else: never unlocked, see above
		errc <- err
	}()
	return <-errc
}

// lowerThread sets the calling thread's nice value to at least nice and its
// I/O priority to ioprio, and returns the func that puts both back and
// tells whether the thread is as it was. The caller is locked to its thread.
func lowerThread(nice int, ioprio uintptr) (restore func() bool) {
	tid := unix.Gettid()
	// getpriority(2)'s system call returns 20 - nice (1..40).
	prio, errNice := unix.Getpriority(unix.PRIO_PROCESS, tid)
	oldNice := 20 - prio
	oldIO, _, errIO := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, uintptr(tid), 0)
	if errNice != nil || errIO != 0 {
		// Unknown, so it could not be put back: the thread stays as it is.
		return func() bool { return true }
	}
	if oldNice < nice {
		unix.Setpriority(unix.PRIO_PROCESS, tid, nice)
	}
	unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), ioprio)
	return func() bool {
		unix.Setpriority(unix.PRIO_PROCESS, tid, oldNice)
		unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), oldIO)
		p, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
		io, _, errno := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, uintptr(tid), 0)
		return err == nil && errno == 0 && 20-p == oldNice && io == oldIO
	}
}
