package modeinit

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mode-build/mode/layers"
)

// savedChain writes base, base-essential and a layer saved on them,
// base-essential-mine, with metadata as mode build and mode save write it.
func savedChain(t *testing.T, dir string) {
	t.Helper()
	metas := []layers.Meta{
		{Name: "base", Chain: []string{"base"}, File: "base.sqfs", Digest: "sha256:b1"},
		{Name: "essential", Parent: "base", Chain: []string{"base", "essential"}, File: "base-essential.sqfs", Digest: "sha256:e1"},
		{Name: "mine", Parent: "essential", Chain: []string{"base", "essential", "mine"}, File: "base-essential-mine.sqfs",
			Digest: "sha256:m1", ParentDigests: []string{"sha256:b1", "sha256:e1"}},
	}
	for _, m := range metas {
		if err := os.WriteFile(filepath.Join(dir, m.File), []byte(m.File), 0o644); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(m)
		if err := os.WriteFile(filepath.Join(dir, strings.TrimSuffix(m.File, ".sqfs")+".json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCheckParentsBeforeMount: the chain the init is about to mount is
// refused, naming the saved layer and the parent at fault, when a parent was
// rebuilt or left out by mode.noload; the mount step fails before any mount.
func TestCheckParentsBeforeMount(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rebuilt string // a new digest for base-essential.json
		noload  string
		want    string
	}{
		{"the chain it was saved on", "", "", ""},
		{"a rebuilt parent", "sha256:e2", "", "layer base-essential-mine.sqfs: saved layer over a different parent chain: parent 2 is base-essential.sqfs (digest sha256:e2), it was saved on digest sha256:e1"},
		{"a parent left out", "", "^essential$", "layer base-essential-mine.sqfs: saved layer over a different parent chain: parent 2 of 2 (digest sha256:e1) is missing below it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			savedChain(t, dir)
			if tc.rebuilt != "" {
				m := layers.Meta{Name: "essential", Parent: "base", Chain: []string{"base", "essential"}, File: "base-essential.sqfs", Digest: tc.rebuilt}
				b, _ := json.Marshal(m)
				if err := os.WriteFile(filepath.Join(dir, "base-essential.json"), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b := &boot{out: &strings.Builder{}}
			if tc.noload != "" {
				b.p.noload = regexp.MustCompile(tc.noload)
			}
			metas, err := localChain(dir, "mine")
			if err != nil {
				t.Fatal(err)
			}
			// No loop devices: the check must come first.
			b.dl = &download{metas: b.filter(metas), dir: filepath.Join(dir, "nosuch")}
			_, err = b.mountLayers()
			if tc.want == "" {
				if err == nil || errors.Is(err, layers.ErrParentMismatch) {
					t.Fatalf("mount layers: %v, want it past the check (failing on the missing files)", err)
				}
				return
			}
			if !errors.Is(err, layers.ErrParentMismatch) || err.Error() != tc.want {
				t.Fatalf("mount layers: %v\nwant: %s", err, tc.want)
			}
		})
	}
}
