package maker

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/mount"
)

// mountStack mounts layer files (base first) as overlay lowerdirs, read-only,
// the way a booted system stacks them, and returns the merged root. All is
// unmounted when the test ends.
func mountStack(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	var lowers []string
	for i, f := range files {
		target := filepath.Join(dir, strconv.Itoa(i))
		if err := mount.MountSquashfs(f, target); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { mount.Unmount(target) })
		lowers = append([]string{target}, lowers...)
	}
	if len(lowers) == 1 {
		return lowers[0]
	}
	root := filepath.Join(dir, "root")
	m := mount.Overlay(lowers, "", "", root)
	if err := m.Mount(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := mount.Unmount(root); err != nil {
			t.Error(err)
		}
	})
	return root
}

func requireRoot(t *testing.T) {
	t.Helper()
	testutil.RequiresRoot(t)
}

func lstat(t *testing.T, p string) os.FileInfo {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Errorf("%v", err)
	}
	return fi
}
