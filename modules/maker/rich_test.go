package maker

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/modules"
)

// writeHierarchy writes module files into dir.
func writeHierarchy(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func sh(t *testing.T, dir, script string) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-ec", script)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
}

// TestRichTreeThroughBuild takes every kind of entry through a base layer
// and a child layer that changes some of them, and compares the mounted
// stack with the same changes made by hand: owners, modes with setuid,
// xattrs (capabilities too), hard links, devices, fifos, links and sparse
// files all survive.
func TestRichTreeThroughBuild(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	rich := filepath.Join(dir, "rich")
	os.Mkdir(rich, 0o755)
	testutil.RichTree(t, rich)
	testutil.BusyboxRoot(t, rich)
	const steps = "chmod 0600 /xattrs; echo more >> /file; rm /hard/b; mkdir -p /etc; echo new > /etc/new; chown 1234:5678 /etc/new; rm -r /owned; mkdir /owned; echo fresh > /owned/only"
	writeHierarchy(t, dir, map[string]string{
		"base.yaml":  "name: base\nfrom: {dir: rich}\n",
		"child.yaml": "name: child\nparent: base\nrun:\n  - " + steps + "\n",
	})
	h, err := modules.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	out, scratch := t.TempDir(), t.TempDir()
	b := &modules.Builder{Hierarchy: h, Out: out, Maker: &Maker{Scratch: scratch}}
	if _, err := b.Build(context.Background()); err != nil {
		t.Fatal(err)
	}
	testutil.NoLeaks(t, scratch)

	base := mountStack(t, filepath.Join(out, "base.sqfs"))
	testutil.CompareTrees(t, rich, base)

	want := filepath.Join(t.TempDir(), "want")
	sh(t, "/", "cp -a "+rich+" "+want)
	sh(t, want, strings.ReplaceAll(steps, " /", " ./"))
	stack := mountStack(t, filepath.Join(out, "base.sqfs"), filepath.Join(out, "base-child.sqfs"))
	testutil.CompareTrees(t, want, stack)
}
