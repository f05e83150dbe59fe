package mount_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/mount"
	"github.com/mode-build/mode/squashfs"
)

// layerFiles squashes one small tree per name (a file NAME.txt, and
// shared.txt saying which layer wrote it last) and returns the images.
func layerFiles(t *testing.T, names ...string) []string {
	t.Helper()
	testutil.RequiresRoot(t)
	testutil.RequiresTools(t, "mksquashfs")
	var files []string
	for _, n := range names {
		src := t.TempDir()
		for f, content := range map[string]string{n + ".txt": n, "shared.txt": n} {
			if err := os.WriteFile(filepath.Join(src, f), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		img := filepath.Join(t.TempDir(), n+".sqfs")
		if err := squashfs.Squash(context.Background(), src, img, "gzip"); err != nil {
			t.Fatal(err)
		}
		files = append(files, img)
	}
	return files
}

// TestWorkspaceStack performs a workspace plan: the layers merge top over
// base, writes land in the upper only, Seal leaves the lower mounted, and
// one Close releases every mount and loop device and removes the directory.
func TestWorkspaceStack(t *testing.T) {
	files := layerFiles(t, "base", "top")
	scratch := t.TempDir()
	s, err := mount.OpenWorkspace(files, scratch, "ws-")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for p, want := range map[string]string{"base.txt": "base", "top.txt": "top", "shared.txt": "top"} {
		if b, err := os.ReadFile(filepath.Join(s.Root, p)); err != nil || string(b) != want {
			t.Errorf("%s in the root: %q, %v; want %q", p, b, err, want)
		}
	}
	if err := os.WriteFile(filepath.Join(s.Root, "new.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Seal(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Upper, "new.txt")); err != nil {
		t.Errorf("the write is not in the upper: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(s.Lower, "shared.txt")); err != nil || string(b) != "top" {
		t.Errorf("lower after Seal: %q, %v", b, err)
	}
	if len(testutil.MountsUnder(t, scratch)) != 3 { // two layers and the lower
		t.Errorf("mounts after Seal: %v", testutil.MountsUnder(t, scratch))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	testutil.NoLeaks(t, scratch)
	if left, _ := os.ReadDir(scratch); len(left) > 0 {
		t.Errorf("left in scratch: %v", left)
	}
}

// TestStackOpenFails: a plan that fails half-way (its second layer is not a
// squashfs image) leaves nothing mounted and no directory.
func TestStackOpenFails(t *testing.T) {
	files := layerFiles(t, "base")
	bad := filepath.Join(t.TempDir(), "bad.sqfs")
	if err := os.WriteFile(bad, []byte(strings.Repeat("x", 8192)), 0o644); err != nil {
		t.Fatal(err)
	}
	scratch := t.TempDir()
	_, err := mount.OpenWorkspace(append(files, bad), scratch, "ws-")
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("Open over a bad layer: %v, want an error naming %s", err, bad)
	}
	testutil.NoLeaks(t, scratch)
	if left, _ := os.ReadDir(scratch); len(left) > 0 {
		t.Errorf("left in scratch: %v", left)
	}
}
