package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/squashfs"
)

// upperLayer packs a small overlay upper dir (a file, a whiteout, an opaque
// dir, a symlink, a device) with its FILE.json beside it, and returns the path.
func upperLayer(t *testing.T) string {
	t.Helper()
	src, out := t.TempDir(), t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "etc/opaque"), 0o755))
	must(os.WriteFile(filepath.Join(src, "etc/motd"), []byte("hello\n"), 0o644))
	must(os.Lchown(filepath.Join(src, "etc/motd"), 1234, 5678))
	must(unix.Mknod(filepath.Join(src, "etc/foo"), unix.S_IFCHR, 0))
	must(unix.Mknod(filepath.Join(src, "etc/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	must(os.Chmod(filepath.Join(src, "etc/null"), 0o666))
	must(unix.Lsetxattr(filepath.Join(src, "etc/opaque"), squashfs.OpaqueXattr, []byte("y"), 0))
	must(os.Symlink("motd", filepath.Join(src, "etc/link")))
	img := filepath.Join(out, "base-console.sqfs")
	must(squashfs.Pack(context.Background(), src, img, "zstd"))
	meta := layers.Meta{Name: "console", Parent: "base", Chain: []string{"base", "console"},
		File: "base-console.sqfs", Key: "sha256:k3y", Digest: "sha256:d1g", Size: 4096,
		Compression: "zstd", Built: time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC), Seconds: 2.5,
		Pruned: layers.Pruned{Files: 7, Bytes: 12345},
		Packages: &layers.Packages{
			Added:    []layers.Package{{Name: "less", Version: "590-2"}},
			Removed:  []layers.Package{{Name: "nano", Version: "7.2-1"}},
			Upgraded: []layers.Package{{Name: "libc6", Version: "2.36-9+deb12u9", From: "2.36-9+deb12u8"}},
		}}
	b, err := json.Marshal(meta)
	must(err)
	must(os.WriteFile(filepath.Join(out, "base-console.json"), b, 0o644))
	return img
}

func TestInspectCommand(t *testing.T) {
	testutil.RequiresRoot(t)
	img := upperLayer(t)
	out, _, err := runMode(t, "inspect", img)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"name:         console\n",
		"chain:        base > console\n",
		"key:          sha256:k3y\n",
		"digest:       sha256:d1g\n",
		"size:         4.0 KiB (4096 bytes)\n",
		"compression:  zstd\n",
		"pruned:       7 files, 12.1 KiB\n",
		"  added     less 590-2\n",
		"  removed   nano 7.2-1\n",
		"  upgraded  libc6 2.36-9+deb12u9 (from 2.36-9+deb12u8)\n",
		"deleted  /etc/foo\n",
		"/etc/opaque  (opaque: replaces the lower directory)\n",
		"-rw-r--r--  1   1234/5678          6  /etc/motd\n",
		"crw-rw-rw-  1         0/0        1,3  /etc/null\n",
		"/etc/link -> motd\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "xattr "+squashfs.OpaqueXattr) {
		t.Errorf("opaque xattr printed besides the opaque mark:\n%s", out)
	}
}

func TestInspectCommandJSON(t *testing.T) {
	testutil.RequiresRoot(t)
	img := upperLayer(t)
	out, _, err := runMode(t, "inspect", img, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Meta    *layers.Meta
		Entries []squashfs.Entry
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if got.Meta == nil || got.Meta.Name != "console" || len(got.Meta.Packages.Upgraded) != 1 {
		t.Errorf("meta: %+v", got.Meta)
	}
	found := map[string]squashfs.Entry{}
	for _, e := range got.Entries {
		found[e.Path] = e
	}
	if !found["/etc/foo"].Whiteout || !found["/etc/opaque"].Opaque {
		t.Errorf("whiteout %+v, opaque %+v", found["/etc/foo"], found["/etc/opaque"])
	}
	if m := found["/etc/motd"]; m.UID != 1234 || m.ModeString() != "-rw-r--r--" {
		t.Errorf("/etc/motd: %+v", m)
	}
	if !strings.Contains(out, `"mode": "0644"`) {
		t.Errorf("mode not in octal:\n%s", out)
	}
}

func TestPackUnpackCommands(t *testing.T) {
	testutil.RequiresRoot(t)
	src, tmp := t.TempDir(), t.TempDir()
	testutil.RichTree(t, src)
	img, dir := filepath.Join(tmp, "rich.sqfs"), filepath.Join(tmp, "out")
	if _, _, err := runMode(t, "pack", src, img, "--compression", "xz"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runMode(t, "unpack", img, dir); err != nil {
		t.Fatal(err)
	}
	testutil.CompareTrees(t, src, dir)
}

func TestLayerCommandsBadInputs(t *testing.T) {
	tmp := t.TempDir()
	text := filepath.Join(tmp, "text.sqfs")
	if err := os.WriteFile(text, []byte(strings.Repeat("text ", 50)), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"inspect", filepath.Join(tmp, "gone.sqfs")}, "gone.sqfs: no such file"},
		{[]string{"inspect", text}, "text.sqfs: not a squashfs image"},
		{[]string{"inspect"}, "want one FILE.sqfs"},
		{[]string{"pack", filepath.Join(tmp, "nodir"), filepath.Join(tmp, "x.sqfs")}, "nodir: no such file"},
		{[]string{"pack", tmp, filepath.Join(tmp, "x.sqfs"), "--compression", "bzip2"}, `compression "bzip2"`},
		{[]string{"pack", tmp}, "want DIR FILE.sqfs"},
		{[]string{"unpack", filepath.Join(tmp, "gone.sqfs"), filepath.Join(tmp, "o")}, "gone.sqfs: no such file"},
		{[]string{"unpack", text, filepath.Join(tmp, "o")}, "text.sqfs: not a squashfs image"},
		{[]string{"unpack", text}, "want FILE.sqfs DIR"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[:1], " ")+" "+tt.want, func(t *testing.T) {
			_, _, err := runMode(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v: want one line containing %q", err, tt.want)
			}
		})
	}
}
