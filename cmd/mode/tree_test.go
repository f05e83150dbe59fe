package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/modules"
)

func TestWriteTree(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"base.yaml":      "name: base\nbootstrap: {suite: bookworm}\n",
		"essential.yaml": "name: essential\nparent: base\nrun: [true]\n",
		"console.yaml":   "name: console\nparent: essential\nrun: [true]\n",
		"extra.yaml":     "name: extra\nparent: console\nrun: [true]\n",
		"lightx.yaml":    "name: lightx\nparent: essential\nrun: [true]\n",
		"tiny.yaml":      "name: tiny\nbootstrap: {suite: bookworm}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, err := modules.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]modules.State{"base": modules.Built, "essential": modules.Stale, "console": modules.Built}
	sizes := map[string]int64{"base": 1258291, "essential": 99, "console": 40 * 1024}
	state := func(name string) (modules.State, layers.Meta, error) {
		return states[name], layers.Meta{Size: sizes[name]}, nil
	}
	var buf bytes.Buffer
	if err := writeTree(&buf, h, state); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"base               built    1.2 MiB",
		"└── essential      stale",
		"    ├── console    built    40 KiB",
		"    │   └── extra  missing",
		"    └── lightx     missing",
		"tiny               missing",
		"",
	}, "\n")
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("tree (-want +got):\n%s", diff)
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 40 * 1024: "40 KiB", 1258291: "1.2 MiB", 3 << 30: "3.0 GiB"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}
