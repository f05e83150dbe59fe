package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/pty"
)

// onTerminal runs mode with args on a pseudo-terminal that is its
// controlling terminal and its stdin, stdout and stderr, as `script -qfec`
// does, with env added; it returns what mode wrote there.
func onTerminal(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	ptm, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptm.Close()
	cmd := modeCmd(args...)
	cmd.Env = append(append(cmd.Env, "TERM=xterm", "NO_COLOR="), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	var screen bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(&screen, ptm) // ends with EIO once nothing holds tty
	}()
	err = cmd.Start()
	tty.Close()
	if err == nil {
		err = cmd.Wait()
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second): // something left holds the terminal
		ptm.Close()
		<-done
	}
	return screen.String(), err
}

// offTerminal runs mode with args and env, its output to a file, and
// returns that output.
func offTerminal(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "out-")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := modeCmd(args...)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	out, rerr := os.ReadFile(f.Name())
	if rerr != nil {
		t.Fatal(rerr)
	}
	return string(out), err
}

// squashTime returns the time in a squashfs file's superblock (mksquashfs
// writes SOURCE_DATE_EPOCH there when it is set).
func squashTime(t *testing.T, path string) uint32 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sb [12]byte
	if _, err := io.ReadFull(f, sb[:]); err != nil {
		t.Fatalf("%s: superblock: %v", path, err)
	}
	return binary.LittleEndian.Uint32(sb[8:])
}
