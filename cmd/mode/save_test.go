package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/squashfs"
)

// TestShellSave builds examples/tiny, runs a command in console's chain with
// --save and checks the new layer: its file, metadata and content, and that
// it stacks over console as the shell saw it.
func TestShellSave(t *testing.T) {
	testutil.RequiresRoot(t)
	out, scratch := t.TempDir(), t.TempDir()
	if _, msg, err := runMode(t, "build", "--dir", "../../examples/tiny", "--out", out, "--scratch", scratch, "console"); err != nil {
		t.Fatalf("build: %v: %s", err, msg)
	}
	if _, msg, err := runMode(t, "shell", "--dir", "../../examples/tiny", "--out", out, "--scratch", scratch,
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
	entries, err := squashfs.Inspect(img)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range entries {
		if e.Type != squashfs.TypeDir {
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
	if _, _, err := runMode(t, "shell", "--dir", "../../examples/tiny", "--out", out, "--scratch", scratch,
		"essential", "--save", "console", "--", "/bin/true"); err == nil || !strings.Contains(err.Error(), "module console's layer") {
		t.Errorf("--save over a module's layer: got %v", err)
	}
	// A failing command saves nothing.
	if _, _, err := runMode(t, "shell", "--dir", "../../examples/tiny", "--out", out, "--scratch", scratch,
		"--save", "failed", "console", "/bin/sh", "-c", "touch /etc/y; exit 3"); err == nil || !strings.Contains(err.Error(), "nothing saved") {
		t.Errorf("a failing command: got %v, want nothing saved", err)
	}
	if _, err := os.Stat(filepath.Join(out, "base-essential-console-failed.sqfs")); err == nil {
		t.Error("a failing command's layer was saved")
	}
	testutil.NoLeaks(t, scratch)
}

// fakeRun makes a run directory whose one layer (a busybox base) is a file,
// not mounted (save mounts it to compare), with a changes directory holding
// /etc/motd and /tmp/junk. It returns the run directory and the layer's file.
func fakeRun(t *testing.T, ref, manifest string) (run, base string) {
	t.Helper()
	tmp := t.TempDir()
	run, tree := filepath.Join(tmp, "run"), filepath.Join(tmp, "base")
	testutil.BusyboxRoot(t, tree)
	for _, d := range []string{layers.LayersDir(run), layers.ChangesDir(run) + "/etc", layers.ChangesDir(run) + "/tmp"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	base = filepath.Join(layers.LayersDir(run), "base.sqfs")
	if err := squashfs.Squash(context.Background(), tree, base, "zstd"); err != nil {
		t.Fatal(err)
	}
	for p, content := range map[string]string{"/etc/motd": "saved\n", "/tmp/junk": "junk\n"} {
		if err := os.WriteFile(layers.ChangesDir(run)+p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	digest, size := fileDigest(t, base)
	booted := layers.Booted{Name: "base", Ref: ref, Digest: manifest, Layers: []layers.Meta{
		{Name: "base", Chain: []string{"base"}, File: "base.sqfs", Digest: digest, Size: size, Compression: "zstd"}}}
	data, _ := json.Marshal(booted)
	if err := os.WriteFile(layers.ChainFile(run), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return run, base
}

func fileDigest(t *testing.T, p string) (string, int64) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:]), int64(len(data))
}

// TestSaveCommand saves through the CLI over a run directory of unmounted layers.
func TestSaveCommand(t *testing.T) {
	testutil.RequiresRoot(t)
	run, _ := fakeRun(t, "/dev/vda", "")
	out := filepath.Join(filepath.Dir(run), "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := runMode(t, "save", "--run-dir", run, "--out", out, "--compression", "gzip", "mine")
	if err != nil {
		t.Fatalf("save: %v: %s", err, stdout)
	}
	entries, err := squashfs.Inspect(filepath.Join(out, "base-mine.sqfs"))
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
	testutil.NoLeaks(t, filepath.Dir(run))
	if _, _, err := runMode(t, "save", "--run-dir", run, "--out", out); err == nil {
		t.Error("save without a name: no error")
	}
	if _, _, err := runMode(t, "save", "--run-dir", run, "--push", "mine"); err == nil || !strings.Contains(err.Error(), "not from a registry: give REF") {
		t.Errorf("push of a system booted from a disk without REF: got %v", err)
	}
}

// TestSavePush saves and pushes to an in-process mode registry the system
// booted from: the chain plus the new layer, tagged NAME, with the booted
// manifest as parent; then pulls it back.
func TestSavePush(t *testing.T) {
	testutil.RequiresRoot(t)
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(serve.New(st, serve.WithPushToken("tok")).Handler())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	// The registry holds the booted chain.
	run, base := fakeRun(t, host+"/tiny:base", "")
	digest, _ := fileDigest(t, base)
	md, err := st.AddChain(context.Background(), "tiny", "base", []store.Layer{{Path: base, Meta: layers.Meta{Name: "base", Chain: []string{"base"}, File: "base.sqfs", Digest: digest}}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := layers.ReadBooted(run)
	b.Digest = string(md)
	data, _ := json.Marshal(b)
	if err := os.WriteFile(layers.ChainFile(run), data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, ref string
		bootToken bool // the token comes from the boot (mode.token: RUN/token), not --token
	}{{"default ref", "", false}, {"given ref", host + "/other:v1", false}, {"token from the boot", host + "/other:v2", true}} {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"save", "--run-dir", run, "--push", "--token", "tok", "mine"}
			if tt.bootToken {
				args = []string{"save", "--run-dir", run, "--push", "mine"}
				if err := os.WriteFile(layers.TokenFile(run), []byte("tok\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				defer os.Remove(layers.TokenFile(run))
			}
			want := host + "/tiny:mine"
			if tt.ref != "" {
				args, want = append(args, tt.ref), tt.ref
			}
			stdout, _, err := runMode(t, args...)
			if err != nil {
				t.Fatalf("save --push: %v: %s", err, stdout)
			}
			dir := t.TempDir()
			c, _, err := remote.Pull(context.Background(), want, dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Layers) != 2 || c.Layers[0].Digest != digest || c.Layers[1].File != "base-mine.sqfs" ||
				c.Parent != md || c.Layers[1].ParentDigests[0] != digest || c.Layers[1].ParentManifest != string(md) {
				t.Errorf("pulled chain: %+v", c)
			}
			if d, _ := fileDigest(t, filepath.Join(dir, "base-mine.sqfs")); d != c.Layers[1].Digest {
				t.Errorf("pulled layer digest %s, chain says %s", d, c.Layers[1].Digest)
			}
			if left, _ := filepath.Glob(filepath.Join(run, ".*")); len(left) > 0 {
				t.Errorf("left in the run directory: %v", left)
			}
		})
	}
	if _, _, err := runMode(t, "save", "--run-dir", run, "--push", "mine"); err == nil {
		t.Error("push without the token: no error")
	}
}

func TestSavedRef(t *testing.T) {
	for booted, want := range map[string]string{
		"10.0.2.2:5000/tiny:console":     "10.0.2.2:5000/tiny:mine",
		"10.0.2.2:5000/tiny@sha256:0123": "10.0.2.2:5000/tiny:mine",
		"10.0.0.1:443/a/b/tiny:console":  "10.0.0.1:443/a/b/tiny:mine",
		"localhost:5000/tiny":            "localhost:5000/tiny:mine",
		"/dev/vda":                       "",
		"tiny":                           "",
	} {
		got, err := savedRef(booted, "mine")
		if got != want || (want == "") != (err != nil) {
			t.Errorf("savedRef(%q) = %q, %v; want %q", booted, got, err, want)
		}
	}
}
