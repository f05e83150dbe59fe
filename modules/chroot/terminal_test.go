package chroot

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/mode-build/mode/internal/pty"
)

// TestRunExtraFiles hands the command a pipe as descriptor 3 (as apt-get's
// status descriptor) and nothing more: what it writes there arrives, and
// the child's own copy (its descriptor 4) is not the command's.
func TestRunExtraFiles(t *testing.T) {
	root := newRoot(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out bytes.Buffer
	err = Run(context.Background(), root, Options{Stdout: &out, Stderr: &out, ExtraFiles: []*os.File{w}},
		"/bin/sh", "-c", "echo status >&3; test -e /proc/self/fd/4 && echo fd4 open; echo done")
	w.Close()
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	got, _ := io.ReadAll(r)
	if string(got) != "status\n" || out.String() != "done\n" {
		t.Errorf("descriptor 3 got %q, output %q; want \"status\\n\", \"done\\n\"", got, out.String())
	}
}

// ttyProbe tells whether the command has a controlling terminal: /dev/tty
// opens only then.
const ttyProbe = `if (: </dev/tty) 2>/dev/null; then echo tty; else echo notty; fi`

// TestRunNoTerminal runs mode (this test, again) in a session whose
// controlling terminal is a pseudo-terminal, as at a user's terminal: a
// step (Options without Terminal) has no controlling terminal there, as
// off any terminal, and mode shell's command (Terminal) keeps it.
func TestRunNoTerminal(t *testing.T) {
	if os.Getenv("_MODE_TEST_TTY") != "" { // the re-run, on the terminal
		root := newRoot(t)
		for _, term := range []bool{false, true} {
			var out bytes.Buffer
			if err := Run(context.Background(), root, Options{Stdout: &out, Stderr: &out, Terminal: term},
				"/bin/sh", "-c", ttyProbe); err != nil {
				t.Fatal(err)
			}
			os.Stdout.WriteString("result " + strings.TrimSpace(out.String()) + "\n")
		}
		return
	}
	newRoot(t) // root, and busybox, or skip before the re-run
	ptm, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptm.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunNoTerminal$", "-test.v")
	cmd.Env = append(os.Environ(), "_MODE_TEST_TTY=1")
	var out bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = cmd.Run()
	tty.Close()
	if err != nil {
		t.Fatalf("re-run on a terminal: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "result notty\nresult tty\n") {
		t.Errorf("want a step without the terminal, then a shell with it; got:\n%s", out.String())
	}
}
