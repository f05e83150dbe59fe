package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/internal/testutil"
)

// TestShellDiscardsChanges runs a command in console's mounted chain: it sees
// every layer, its change is gone afterwards, and nothing stays mounted.
func TestShellDiscardsChanges(t *testing.T) {
	testutil.RequiresRoot(t)
	out, scratch := t.TempDir(), t.TempDir()
	if b, err := modeCmd("build", "--dir", "../../examples/tiny", "--out", out, "console").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	run := func(script string) string {
		t.Helper()
		cmd := modeCmd("shell", "--dir", "../../examples/tiny", "--out", out, "--scratch", scratch, "console", "/bin/sh", "-c", script)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("shell %q: %v\n%s", script, err, b)
		}
		return string(b)
	}
	if got := run("cat /etc/console.conf /etc/essential.conf; echo x > /etc/scribble; ls /etc/old.conf 2>&1 || true"); !strings.Contains(got, "console=yes\nessential=yes\n") || !strings.Contains(got, "No such file") {
		t.Errorf("shell saw:\n%s", got)
	}
	if got := run("cat /etc/scribble 2>&1 || echo gone"); !strings.Contains(got, "gone") {
		t.Errorf("a change survived the shell: %s", got)
	}
	testutil.NoLeaks(t, scratch)
	testutil.NoLeaks(t, out)
	if entries, _ := os.ReadDir(scratch); len(entries) > 0 {
		t.Errorf("workspace left: %v", entries)
	}
	// A module that is not built yet is a clear error, not a half mount.
	cmd := modeCmd("shell", "--dir", "../../examples/tiny", "--out", filepath.Join(out, "empty"), "console", "true")
	b, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(string(b), "run mode build console first") {
		t.Errorf("shell of an unbuilt module: %v\n%s", err, b)
	}
}
