package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// TestCompletion: the bash script loads and registers mode's completion;
// zsh and fish get theirs; the completion lists the commands.
func TestCompletion(t *testing.T) {
	script, err := modeCmd("completion", "bash").Output()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "--norc", "--noprofile", "-c", "source /dev/stdin; complete -p mode")
	cmd.Stdin = bytes.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "-F __mode_bash_autocomplete mode") {
		t.Errorf("bash: complete -p mode: %v\n%s", err, out)
	}
	for _, shell := range []string{"zsh", "fish"} {
		s, err := modeCmd("completion", shell).Output()
		if err != nil || !strings.Contains(string(s), "mode") {
			t.Errorf("completion %s: %v\n%s", shell, err, s)
		}
	}
	words, err := modeCmd("--generate-shell-completion").Output()
	for _, c := range []string{"build:", "push:", "serve:"} {
		if err != nil || !strings.Contains(string(words), c) {
			t.Errorf("completion of mode lacks %q: %v\n%s", c, err, words)
		}
	}
}

// decodeStrict parses one JSON document into v, refusing fields v lacks.
func decodeStrict(t *testing.T, what string, data []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, data)
	}
	if dec.More() {
		t.Fatalf("%s: more than one JSON document:\n%s", what, data)
	}
}

// TestJSONOutputs: build, tree, push and pull --json print one document of
// their schema (docs/cli.md) on stdout; -q leaves stderr empty, and without
// it a non-terminal gets a plain line per blob.
func TestJSONOutputs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds examples/tiny (root): not with -short")
	}
	testutil.RequiresRoot(t)
	out, dir := t.TempDir(), t.TempDir()
	run := func(args ...string) ([]byte, string) {
		t.Helper()
		stdout, stderr, err := runMode(t, args...)
		if err != nil {
			t.Fatalf("mode %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return []byte(stdout), stderr
	}
	stdout, stderr := run("build", "--json", "--dir", "../../examples/tiny", "--out", out, "--store", dir)
	for _, phase := range []string{"build base: from\n", "build base: run 2/2\n", "build console: squash\n"} {
		if !strings.Contains(stderr, phase) {
			t.Errorf("build's progress off a terminal lacks the line %q:\n%s", phase, stderr)
		}
	}
	var b BuildJSON
	decodeStrict(t, "build --json", stdout, &b)
	if len(b.Layers) != 4 || len(b.Stored) != 4 || b.Layers[3].File != "base-essential-console-extra.sqfs" ||
		b.Layers[3].State != "built" || !strings.HasPrefix(b.Layers[3].Digest, "sha256:") || b.Layers[3].Size <= 0 ||
		b.Layers[0].Path != filepath.Join(out, "base.sqfs") || b.Stored[0].Ref != "tiny:base" {
		t.Errorf("build --json: %+v", b)
	}
	stdout, _ = run("build", "--json", "--dir", "../../examples/tiny", "--out", out, "--store", dir)
	decodeStrict(t, "second build --json", stdout, &b)
	if len(b.Layers) != 4 || b.Layers[0].State != "cached" || len(b.Stored) != 0 {
		t.Errorf("second build --json: %+v", b)
	}

	stdout, _ = run("tree", "--json", "--dir", "../../examples/tiny", "--out", out, "--store", dir)
	var tr TreeJSON
	decodeStrict(t, "tree --json", stdout, &tr)
	if len(tr.Modules) != 4 || tr.Modules[0].Name != "base" || tr.Modules[0].Depth != 0 || tr.Modules[3].Parent != "console" ||
		tr.Modules[3].Depth != 3 || tr.Modules[3].State != "built" || tr.Modules[3].Size <= 0 {
		t.Errorf("tree --json: %+v", tr)
	}

	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	host := registrytest.Serve(t, s, serve.WithPushToken("tok"))
	stdout, stderr = run("-q", "push", "--json", "--store", dir, "--token", "tok", "tiny:extra", host+"/copy:extra")
	var push TransferJSON
	decodeStrict(t, "push --json", stdout, &push)
	if push.Chain != "extra" || len(push.Layers) != 4 || !strings.HasPrefix(push.Digest, "sha256:") || push.Ref != host+"/copy:extra" {
		t.Errorf("push --json: %+v", push)
	}
	if stderr != "" {
		t.Errorf("push -q wrote to stderr:\n%s", stderr)
	}
	stdout, stderr = run("pull", "--json", "--store", t.TempDir(), host+"/copy:extra")
	var pull TransferJSON
	decodeStrict(t, "pull --json", stdout, &pull)
	if pull.Digest != push.Digest || len(pull.Layers) != 4 || pull.Layers[0].File != "base.sqfs" {
		t.Errorf("pull --json: %+v, pushed %s", pull, push.Digest)
	}
	if strings.Contains(stderr, "\r") || !strings.Contains(stderr, "base.sqfs") {
		t.Errorf("pull's progress off a terminal is not plain lines per blob:\n%q", stderr)
	}
}

// TestManPage: mode man writes mode.1 from the command definitions.
func TestManPage(t *testing.T) {
	dir := t.TempDir()
	if out, err := modeCmd("man", "--out", dir).CombinedOutput(); err != nil {
		t.Fatalf("mode man: %v\n%s", err, out)
	}
	page, err := os.ReadFile(filepath.Join(dir, "mode.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".TH mode 1", ".SH serve", "--advertise", "--json", "--quiet, -q"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("mode.1 lacks %q", want)
		}
	}
}
