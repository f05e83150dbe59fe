package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/boot/activate"
	"github.com/mode-build/mode/layers"
)

// TestStatusLazy: mode status shows how a lazy boot's fill ended (done,
// or its error), not only whether every layer is local, and the progress
// of a module activated lazily.
func TestStatusLazy(t *testing.T) {
	layer := layers.LazyLayer{File: "/run/mode/layers/base.sqfs", Size: 4 << 20, Local: 4 << 20, Fetched: 4 << 20}
	for _, tc := range []struct {
		name string
		st   layers.LazyStatus
		want string
	}{
		{"reading", layers.LazyStatus{Layers: []layers.LazyLayer{{File: layer.File, Size: 4 << 20, Local: 1 << 20, Fetched: 1 << 20}}, Size: 4 << 20},
			"lazy boot: still reading from the registry"},
		{"whole", layers.LazyStatus{Layers: []layers.LazyLayer{layer}, Whole: true},
			"lazy boot: every layer local, the registry is no longer needed (the fill checks their digests)"},
		{"done", layers.LazyStatus{Layers: []layers.LazyLayer{layer}, Whole: true, Done: true},
			"lazy boot: every layer local, checked (done)"},
		{"failed", layers.LazyStatus{Layers: []layers.LazyLayer{layer}, Whole: true, Done: true, Error: "layer base.sqfs: blob sha256:ab: digest mismatch"},
			"lazy boot: the fill failed: layer base.sqfs: blob sha256:ab: digest mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := t.TempDir()
			writeJSON(t, layers.LazyFile(run), tc.st)
			var out strings.Builder
			printLazy(&out, run)
			if !strings.Contains(out.String(), "  lazy   base.sqfs") || !strings.Contains(out.String(), tc.want) {
				t.Errorf("printLazy:\n%s\nwant a line for base.sqfs and %q", out.String(), tc.want)
			}
			if tc.name != "done" && strings.Contains(out.String(), "(done)") {
				t.Errorf("printLazy says done:\n%s", out.String())
			}
		})
	}

	run := t.TempDir()
	var out strings.Builder
	printLazy(&out, run) // not a lazy boot: nothing
	m := activate.Module{Lazy: &activate.Lazy{NBD: "/dev/nbd3", Device: "/dev/dm-4", Status: layers.LazyModuleFile(run, "extra")}}
	printLazyModule(&out, m)
	if !strings.Contains(out.String(), "lazy through /dev/dm-4 over /dev/nbd3: no progress") {
		t.Errorf("a lazy module without a status file:\n%s", out.String())
	}
	writeJSON(t, m.Lazy.Status, layers.LazyStatus{Layers: []layers.LazyLayer{{File: "x", Size: 8 << 10, Local: 4 << 10, Fetched: 4 << 10}}, Size: 8 << 10, Fetched: 4 << 10})
	out.Reset()
	printLazyModule(&out, m)
	if want := "lazy through /dev/dm-4 over /dev/nbd3: 4.0 KiB of 8.0 KiB local, 4.0 KiB fetched; still reading from the registry"; !strings.Contains(out.String(), want) {
		t.Errorf("a lazy module's progress:\n%s\nwant %q", out.String(), want)
	}
	out.Reset()
	printLazyModule(&out, activate.Module{})
	if out.Len() != 0 {
		t.Errorf("a module read from its file: %q", out.String())
	}
}

func writeJSON(t *testing.T, file string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Clean(file), data, 0o644); err != nil {
		t.Fatal(err)
	}
}
