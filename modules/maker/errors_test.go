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
	"golang.org/x/sys/unix"
)

// tinyCopy copies examples/tiny into a new directory and adds files to it.
func tinyCopy(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tiny")
	if out, err := exec.Command("cp", "-a", tinyDir, dir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	for name, content := range files {
		must(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	return dir
}

// TestStepErrorLines: a failing run step names the line of its entry in the
// module file, a failing packages step the line of its list.
func TestStepErrorLines(t *testing.T) {
	requireRoot(t)
	dir := tinyCopy(t, map[string]string{
		"bad.yaml":  "name: bad\nparent: base\nrun:\n  - true\n  - echo failing; exit 3\n",
		"pkgs.yaml": "name: pkgs\nparent: base\n\npackages: [nosuchpackage]\n",
	})
	h, err := modules.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	scratch := t.TempDir()
	b := &modules.Builder{Hierarchy: h, Out: t.TempDir(), Maker: &Maker{Scratch: scratch}}
	_, err = b.Build(context.Background(), "bad")
	if want := filepath.Join(dir, "bad.yaml") + `:5: run step 2 ("echo failing; exit 3")`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("failing run step: %v\nwant it to contain %s", err, want)
	}
	_, err = b.Build(context.Background(), "pkgs")
	if want := filepath.Join(dir, "pkgs.yaml") + ":4: packages: "; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("failing packages step: %v\nwant it to contain %s", err, want)
	}
	testutil.NoLeaks(t, scratch)
}

// TestNoSpaceNamesTheFileSystem: a build whose scratch file system runs full
// says which directory is full and where that file system is mounted.
func TestNoSpaceNamesTheFileSystem(t *testing.T) {
	requireRoot(t)
	scratch := filepath.Join(t.TempDir(), "scratch")
	must(t, os.Mkdir(scratch, 0o755))
	must(t, unix.Mount("tmpfs", scratch, "tmpfs", 0, "size=512k"))
	t.Cleanup(func() { unix.Unmount(scratch, unix.MNT_DETACH) })
	sub := filepath.Join(scratch, "builds")
	must(t, os.Mkdir(sub, 0o755))
	h, err := modules.Load(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	b := &modules.Builder{Hierarchy: h, Out: t.TempDir(), Maker: &Maker{Scratch: sub}}
	_, err = b.Build(context.Background(), "base")
	if err == nil {
		t.Fatal("a base of several MiB built in 512 KiB")
	}
	for _, want := range []string{"no space left in " + sub, "file system at " + scratch, "free of 512.0 KiB"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\ndoes not say %q", err, want)
		}
	}
}
