package maker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/modules"
	"github.com/mode-build/mode/modules/chroot"
)

// copyTiny copies examples/tiny to a temporary directory the test may edit.
func copyTiny(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tiny")
	src, err := filepath.Abs(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	sh(t, "/", "cp -a "+src+" "+dir)
	return dir
}

func built(rs []modules.Result) []string {
	var names []string
	for _, r := range rs {
		if !r.Cached {
			names = append(names, r.Module.Name)
		}
	}
	return names
}

func appendTo(t *testing.T, p, text string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// TestRebuildOnlyWhatChanged: a second build makes nothing; editing console
// remakes console alone; editing base remakes all but the config-only extra.
func TestRebuildOnlyWhatChanged(t *testing.T) {
	requireRoot(t)
	dir, out := copyTiny(t), t.TempDir()
	if got := strings.Join(built(buildTiny(t, dir, out)), " "); got != "base essential console extra" {
		t.Fatalf("first build made %q", got)
	}
	steps := []struct {
		name, edit, file, want string
	}{
		{"nothing changed", "", "", ""},
		{"console edited", "  - echo more > /etc/more.conf\n", "console.yaml", "console"},
		{"base edited", "  - echo changed > /etc/base.conf\n", "base.yaml", "base essential console"},
		{"a copied file edited", "changed\n", "files/essential.conf", "essential console"},
	}
	for _, s := range steps {
		if s.file != "" {
			appendTo(t, filepath.Join(dir, s.file), s.edit)
		}
		if got := strings.Join(built(buildTiny(t, dir, out)), " "); got != s.want {
			t.Errorf("%s: rebuilt %q, want %q", s.name, got, s.want)
		}
	}
}

// TestFailingStepLeavesNothing: a step that fails ends the build with an
// error naming the module file and the step, and leaves no mount, no loop
// device, no workspace and no partial layer.
func TestFailingStepLeavesNothing(t *testing.T) {
	requireRoot(t)
	dir, out, scratch := copyTiny(t), t.TempDir(), t.TempDir()
	appendTo(t, filepath.Join(dir, "console.yaml"), "") // keep console as is
	os.WriteFile(filepath.Join(dir, "broken.yaml"), []byte("name: broken\nparent: essential\nrun:\n  - echo about to fail\n  - exit 3\n"), 0o644)
	h, err := modules.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	b := &modules.Builder{Hierarchy: h, Out: out, Maker: &Maker{Scratch: scratch}}
	_, err = b.Build(context.Background(), "broken")
	var exit *chroot.ExitError
	if !errors.As(err, &exit) || exit.Code != 3 || !strings.Contains(err.Error(), "broken.yaml:5: run step 2") {
		t.Fatalf("err = %v, want exit status 3 of broken.yaml's run step 2", err)
	}
	testutil.NoLeaks(t, scratch)
	if entries, _ := os.ReadDir(scratch); len(entries) > 0 {
		t.Errorf("workspace left in %s: %v", scratch, entries)
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.Contains(e.Name(), "broken") || strings.HasPrefix(e.Name(), ".") {
			t.Errorf("partial output left: %s", e.Name())
		}
	}
}
