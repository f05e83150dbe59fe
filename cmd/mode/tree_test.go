package main

import (
	"bytes"
	"encoding/json"
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
		"    ├── console    built    40.0 KiB",
		"    │   └── extra  missing",
		"    └── lightx     missing",
		"tiny               missing",
		"",
	}, "\n")
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("tree (-want +got):\n%s", diff)
	}
}

func TestTreeCommand(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	for name, body := range map[string]string{
		"base.yaml":      "name: base\nbootstrap: {suite: bookworm}\n",
		"essential.yaml": "name: essential\nparent: base\nrun: [true]\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, err := modules.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	key, err := h.Key("base", layers.DefaultCompression)
	if err != nil {
		t.Fatal(err)
	}
	meta, _ := json.Marshal(layers.Meta{Name: "base", Key: key, Size: 5})
	if err := os.WriteFile(filepath.Join(out, "base.sqfs"), []byte("layer"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "base.json"), meta, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "base           built    5 B\n└── essential  missing\n"},
		{[]string{"--compression", "xz"}, "base           stale\n└── essential  missing\n"},
	} {
		args := append([]string{"tree", "--dir", dir, "--out", out}, tt.args...)
		got, _, err := runMode(t, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tt.args, diff)
		}
	}
}
