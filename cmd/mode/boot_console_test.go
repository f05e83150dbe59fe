package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mode-build/mode/internal/testutil"
	"golang.org/x/sys/unix"
)

// TestBootTerminal is issue 28: mode boot (the real binary) of
// examples/tiny's layers, with no --expect, on a pseudo-terminal that is its
// controlling terminal, as a user's shell runs it. The guest's console must
// come to the terminal and take what is typed (QEMU must not be stopped by
// job control), the terminal must be raw while it runs and have its modes
// back after, however the boot ends: the guest powers off, the user leaves
// with Ctrl-a x, or mode is killed (SIGTERM). No process of the boot stays.
// A DIR of layers and a CHAIN of the store (served to the guest) are booted;
// the media forms end in the same code (runBoot).
func TestBootTerminal(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresQEMU(t)
	mode := filepath.Join(testutil.Binaries(t), "mode")
	out, storeDir := filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "store")
	testutil.BuildTiny(t, out, storeDir)
	files := []string{"--kernel", testutil.Kernel(t).Vmlinuz, "--initrd", testutil.Initramfs(t), "--memory", "384"}
	dir := append([]string{"boot", out}, files...)
	chain := append([]string{"boot", "extra", "--store", storeDir}, files...)
	for _, tc := range []struct {
		name string
		args []string
		end  func(s *ttySession) // from the shell's prompt on
		exit int                 // mode's exit code
		want string              // on the terminal at the end
	}{
		{"DIR, poweroff", dir, func(s *ttySession) { s.typeIn("poweroff -f\r") }, 0, "reboot: Power down"},
		{"DIR, Ctrl-a x", dir, func(s *ttySession) { s.typeIn("\x01x") }, 0, "boot: left the console (Ctrl-a x)"},
		{"DIR, SIGTERM", dir, func(s *ttySession) { s.cmd.Process.Signal(syscall.SIGTERM) }, 1, "mode: terminated signal received"},
		{"CHAIN, poweroff", chain, func(s *ttySession) { s.typeIn("poweroff -f\r") }, 0, "reboot: Power down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startTTY(t, mode, tc.args...)
			s.waitFor("Please press Enter to activate this console.")
			s.typeIn("\r")
			s.waitFor("# ")
			// $((40+2)): the terminal shows what is typed; only the guest's shell says 42.
			s.typeIn("echo HELLO-$((40+2))\r")
			s.waitFor("HELLO-42")
			if raw := s.termios(); raw.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 {
				t.Errorf("the terminal is not raw while QEMU runs: lflag %#x", raw.Lflag)
			}
			tc.end(s)
			s.waitFor(tc.want)
			if code := s.wait(); code != tc.exit {
				t.Errorf("mode exited %d, want %d\n%s", code, tc.exit, s.text())
			}
			if diff := cmp.Diff(s.before, s.termios()); diff != "" {
				t.Errorf("the terminal's modes after mode boot (-before +after):\n%s", diff)
			}
			if left := sessionProcs(t, s.cmd.Process.Pid); len(left) > 0 {
				t.Errorf("processes of the boot left: %s", strings.Join(left, "; "))
			}
		})
	}
}

// ttyTimeout bounds a whole session: a boot under TCG on a loaded machine.
const ttyTimeout = 5 * time.Minute

// ttySession is a process on a new pseudo-terminal, its controlling
// terminal (it leads a new session, its group in the foreground).
type ttySession struct {
	*session
	ptm, tty *os.File
	before   unix.Termios // the terminal's modes before the process started
}

func startTTY(t *testing.T, name string, args ...string) *ttySession {
	t.Helper()
	ptm, tty := openTTY(t)
	cmd := exec.Command(name, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	s := &ttySession{session: newSession(t, cmd, ttyTimeout), ptm: ptm, tty: tty}
	s.in = ptm
	s.why = func() string { return "qemu: " + qemuStates(cmd.Process.Pid) }
	s.before = s.termios()
	t.Cleanup(func() { // after the session's own: the process is gone
		ptm.Close()
		tty.Close()
	})
	s.start()
	go io.Copy(s.session, ptm) // until ptm's Close ends the read
	return s
}

// openTTY opens a pseudo-terminal pair; the test keeps tty open to read its
// modes after the process ended.
func openTTY(t *testing.T) (ptm, tty *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0) // Close ends a Read
	if err != nil {
		t.Fatal(err)
	}
	ptm = os.NewFile(uintptr(fd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80}); err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ptm, tty
}

func (s *ttySession) termios() unix.Termios {
	s.t.Helper()
	tio, err := unix.IoctlGetTermios(int(s.tty.Fd()), unix.TCGETS)
	if err != nil {
		s.t.Fatal(err)
	}
	return *tio
}

// sessionProcs lists the live processes of session sid (a zombie is not).
func sessionProcs(t *testing.T, sid int) []string {
	t.Helper()
	var procs []string
	for _, p := range procStats(t) {
		if p.session == sid && p.state != "Z" {
			procs = append(procs, fmt.Sprintf("%d %s %s", p.pid, p.comm, p.state))
		}
	}
	return procs
}

// qemuStates tells the state of the QEMU processes under pid (T: stopped).
func qemuStates(pid int) string {
	var states []string
	for _, p := range procStats(nil) {
		if p.ppid == pid && strings.HasPrefix(p.comm, "qemu") {
			states = append(states, fmt.Sprintf("pid %d state %s pgrp %d tty foreground %d", p.pid, p.state, p.pgrp, p.tpgid))
		}
	}
	return strings.Join(states, "; ")
}

type procStat struct {
	pid, ppid, pgrp, session, tpgid int
	comm, state                     string
}

// procStats reads /proc/PID/stat of every process; t may be nil.
func procStats(t *testing.T) []procStat {
	entries, err := os.ReadDir("/proc")
	if err != nil && t != nil {
		t.Fatal(err)
	}
	var stats []procStat
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid pgrp session tty_nr tpgid …; comm may hold spaces.
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(string(b[end+1:]))
		if len(f) < 6 {
			continue
		}
		p := procStat{pid: pid, comm: string(b[open+1 : end]), state: f[0]}
		p.ppid, _ = strconv.Atoi(f[1])
		p.pgrp, _ = strconv.Atoi(f[2])
		p.session, _ = strconv.Atoi(f[3])
		p.tpgid, _ = strconv.Atoi(f[5])
		stats = append(stats, p)
	}
	return stats
}
