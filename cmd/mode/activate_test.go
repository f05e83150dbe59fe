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

// TestStatusCommand runs mode status on a run directory as the init and
// mode activate leave it: the booted chain (a saved layer marked), the
// active module; and the refusals of activate and deactivate outside one.
func TestStatusCommand(t *testing.T) {
	run := t.TempDir()
	b := layers.Booted{Name: "base-mine", Ref: "10.0.2.2:5000/tiny:mine", Digest: "sha256:0123456789abcdef0123", Layers: []layers.Meta{
		{Name: "base", File: "base.sqfs", Digest: "sha256:b1", Size: 3 << 20},
		{Name: "mine", File: "base-mine.sqfs", Digest: "sha256:m1", ParentDigests: []string{"sha256:b1"}},
	}}
	st := activate.State{Modules: []activate.Module{{Meta: layers.Meta{Name: "addon", File: "base-addon.sqfs", Digest: "sha256:a1"},
		Dirs: []string{"etc", "opt"}, From: "10.0.2.2:5000/tiny:addon"}}}
	for p, v := range map[string]any{layers.ChainFile(run): b, layers.ActiveFile(run): st} {
		data, _ := json.Marshal(v)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := modeCmd("status", "--run-dir", run).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, want := range []string{"booted base-mine from 10.0.2.2:5000/tiny:mine sha256:0123456789abcdef0123",
		"  layer  base.sqfs", "  saved  base-mine.sqfs", "  active base-addon.sqfs", "on /etc /opt since", "from 10.0.2.2:5000/tiny:addon"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	empty := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"status", "--run-dir", empty}, "not a system booted by mode"},
		{[]string{"activate"}, "activate: want one MODULE, got 0 arguments"},
		{[]string{"deactivate", "--run-dir", run, "nosuch"}, "module nosuch: not active (active: addon)"},
		{[]string{"activate", "--run-dir", empty, filepath.Join(empty, "x.sqfs")}, "not a system booted by mode"},
	} {
		out, err := modeCmd(tc.args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("mode %s: %v, %s; want an error saying %q", strings.Join(tc.args, " "), err, out, tc.want)
		}
	}
}
