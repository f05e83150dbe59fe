package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v3"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/layers"
)

// runModeAll runs the mode CLI with every command this test file needs.
func runModeAll(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	app := &cli.Command{Name: "mode", Writer: &out, ErrWriter: &out,
		Commands: []*cli.Command{buildCommand(), shellCommand(), saveCommand()}}
	err := app.Run(context.Background(), append([]string{"mode"}, args...))
	return out.String(), err
}

// TestShellSave builds examples/tiny, runs a command in console's chain with
// --save and checks the new layer: its file, metadata and content, and that
// it stacks over console as the shell saw it.
func TestShellSave(t *testing.T) {
	testutil.RequiresRoot(t)
	out, scratch := t.TempDir(), t.TempDir()
	if msg, err := runModeAll(t, "build", "--dir", "../../examples/tiny", "--out", out, "--scratch", scratch, "console"); err != nil {
		t.Fatalf("build: %v: %s", err, msg)
	}
	if msg, err := runModeAll(t, "shell", "--dir", "../../examples/tiny", "--out", out, "--scratch", scratch,
		"console", "--save", "mine", "--", "/bin/sh", "-c", "echo x > /etc/x && rm /etc/console.link && echo log >> /var/log/console.log"); err != nil {
		t.Fatalf("shell --save: %v: %s", err, msg)
	}
	testutil.NoLeaks(t, scratch)
	img := filepath.Join(out, "base-essential-console-mine.sqfs")
	var meta layers.Meta
	data, err := os.ReadFile(filepath.Join(out, "base-essential-console-mine.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		t.Fatal(err)
	}
	var parents []layers.Meta
	for _, f := range []string{"base", "base-essential", "base-essential-console"} {
		var m layers.Meta
		data, err := os.ReadFile(filepath.Join(out, f+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		parents = append(parents, m)
	}
	if meta.Name != "mine" || meta.Parent != "console" || strings.Join(meta.Chain, ",") != "base,essential,console,mine" ||
		meta.File != filepath.Base(img) || meta.Key != "" || len(meta.ParentDigests) != 3 {
		t.Errorf("metadata: %+v", meta)
	}
	if err := layers.CheckParents(append(parents, meta)); err != nil {
		t.Errorf("CheckParents over the chain it was saved on: %v", err)
	}
	entries, err := layers.Inspect(img)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range entries {
		if e.Type != layers.TypeDir {
			paths = append(paths, e.Path)
		}
	}
	if got, want := strings.Join(paths, " "), "/etc/console.link /etc/x"; got != want {
		t.Errorf("saved layer holds %q, want %q (the log excluded)", got, want)
	}
	for _, e := range entries {
		if e.Path == "/etc/console.link" && !e.Whiteout {
			t.Errorf("/etc/console.link: want a whiteout, got %+v", e)
		}
	}
	// The shell with the saved layer's parents refuses a name that is a module's layer.
	if _, err := runModeAll(t, "shell", "--dir", "../../examples/tiny", "--out", out, "--scratch", scratch,
		"essential", "--save", "console", "--", "/bin/true"); err == nil || !strings.Contains(err.Error(), "module console's layer") {
		t.Errorf("--save over a module's layer: got %v", err)
	}
	// A failing command saves nothing.
	if _, err := runModeAll(t, "shell", "--dir", "../../examples/tiny", "--out", out, "--scratch", scratch,
		"--save", "failed", "console", "/bin/sh", "-c", "touch /etc/y; exit 3"); err == nil || !strings.Contains(err.Error(), "nothing saved") {
		t.Errorf("a failing command: got %v, want nothing saved", err)
	}
	if _, err := os.Stat(filepath.Join(out, "base-essential-console-failed.sqfs")); err == nil {
		t.Error("a failing command's layer was saved")
	}
	testutil.NoLeaks(t, scratch)
}

// TestSaveCommand saves a changes directory over a run directory whose
// layers are files, not mounted (save mounts them to compare), through the CLI.
func TestSaveCommand(t *testing.T) {
	testutil.RequiresRoot(t)
	tmp := t.TempDir()
	run, base := filepath.Join(tmp, "run"), filepath.Join(tmp, "base")
	testutil.BusyboxRoot(t, base)
	for _, d := range []string{layers.LayersDir(run), layers.ChangesDir(run) + "/etc", layers.ChangesDir(run) + "/tmp"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := layers.Squash(context.Background(), base, filepath.Join(layers.LayersDir(run), "base.sqfs"), "zstd"); err != nil {
		t.Fatal(err)
	}
	for p, content := range map[string]string{"/etc/motd": "saved\n", "/tmp/junk": "junk\n"} {
		if err := os.WriteFile(layers.ChangesDir(run)+p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	booted := layers.Booted{Name: "base", Ref: "/dev/vda", Layers: []layers.Meta{
		{Name: "base", Chain: []string{"base"}, File: "base.sqfs", Digest: "sha256:0123"}}}
	data, _ := json.Marshal(booted)
	if err := os.WriteFile(layers.ChainFile(run), data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	stdout, err := runModeAll(t, "save", "--run-dir", run, "--out", out, "--compression", "gzip", "mine")
	if err != nil {
		t.Fatalf("save: %v: %s", err, stdout)
	}
	entries, err := layers.Inspect(filepath.Join(out, "base-mine.sqfs"))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range entries {
		paths = append(paths, e.Path)
	}
	// /tmp goes: its junk is excluded and the directory equals the lower one.
	if got, want := strings.Join(paths, " "), "/ /etc /etc/motd"; got != want {
		t.Errorf("saved layer holds %q, want %q", got, want)
	}
	testutil.NoLeaks(t, tmp)
	if _, err := runModeAll(t, "save", "--run-dir", run, "--out", out); err == nil {
		t.Error("save without a name: no error")
	}
}
