package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

// stdio serializes the runs of runMode: each takes os.Stdout and os.Stderr.
var stdio sync.Mutex

// runMode runs mode with args in-process, through newApp as main does, and
// returns what it wrote to stdout and to stderr, where an error ends as main
// prints it ("mode: ..."). Commands print results with fmt.Print and progress
// to os.Stderr, so both are swapped for pipes while it runs. Tests that need a
// process of its own (signals, exit codes, mount namespaces) use modeCmd.
func runMode(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	stdio.Lock()
	defer stdio.Unlock()
	capture := func(f **os.File) (restore func() string) {
		r, w, perr := os.Pipe()
		if perr != nil {
			t.Fatal(perr)
		}
		var buf bytes.Buffer
		done := make(chan struct{})
		go func() { io.Copy(&buf, r); r.Close(); close(done) }()
		old := *f
		*f = w
		return func() string {
			*f = old
			w.Close()
			<-done
			return buf.String()
		}
	}
	logger := slog.Default()
	restoreOut, restoreErr := capture(&os.Stdout), capture(&os.Stderr)
	app := newApp()
	app.Writer, app.ErrWriter = os.Stdout, os.Stderr
	err = app.Run(context.Background(), append([]string{"mode"}, args...))
	stdout, stderr = restoreOut(), restoreErr()
	slog.SetDefault(logger)
	if err != nil && err.Error() != "" {
		stderr += "mode: " + err.Error() + "\n"
	}
	return stdout, stderr, err
}

// TestCommandsSorted: the command list of newApp stays sorted by name (the
// comment alone drifted), and each name is there once.
func TestCommandsSorted(t *testing.T) {
	var names []string
	for _, c := range newApp().Commands {
		names = append(names, c.Name)
	}
	if !slices.IsSorted(names) {
		sorted := slices.Sorted(slices.Values(names))
		t.Errorf("newApp's commands are not sorted:\n got  %v\n want %v", names, sorted)
	}
	if len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Errorf("a command twice: %v", names)
	}
}

// TestRunMode: runMode keeps stdout and stderr apart and returns the
// command's error.
func TestRunMode(t *testing.T) {
	o, e, err := runMode(t, "key", "generate", t.TempDir()+"/k")
	if err != nil || !strings.HasPrefix(o, "sha256:") || strings.Contains(e, "sha256:") {
		t.Errorf("key generate: stdout %q, stderr %q, %v", o, e, err)
	}
	if _, _, err := runMode(t, "inspect"); err == nil {
		t.Error("inspect without a file: no error")
	}
}
