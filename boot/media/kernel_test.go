package media

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/layers"
)

// squash makes a squashfs layer of files (path → content) with mksquashfs.
func squash(t *testing.T, name string, files map[string]string) Layer {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		f := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command("mksquashfs", root, img, "-noappend", "-quiet", "-no-progress").CombinedOutput(); err != nil {
		t.Fatalf("mksquashfs: %v\n%s", err, out)
	}
	return Layer{Path: img, Meta: layers.Meta{File: name}}
}

// TestFindKernel: the topmost layer's newest /boot/vmlinuz-* wins, its
// modules may be in another layer (/usr/lib/modules on merged /usr); a chain
// without a kernel has none; a kernel without its modules is an error naming
// both.
func TestFindKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("needs mksquashfs and unsquashfs: not with -short")
	}
	ctx := context.Background()
	base := squash(t, "base.sqfs", map[string]string{"etc/motd": "hi"})
	old := squash(t, "base-old.sqfs", map[string]string{"boot/vmlinuz-5.10.0-1": "old", "lib/modules/5.10.0-1/modules.dep": ""})
	mods := squash(t, "base-old-mods.sqfs", map[string]string{"usr/lib/modules/6.1.0-9/modules.dep": "", "usr/lib/modules/6.1.0-9/kernel/x.ko": "ko"})
	top := squash(t, "base-old-mods-k.sqfs", map[string]string{"boot/vmlinuz-6.1.0-9": "new", "boot/vmlinuz-6.1.0-10-x": "newer, no modules"})

	if k, err := FindKernel(ctx, []Layer{base}, t.TempDir()); k != nil || err != nil {
		t.Errorf("no kernel: %+v, %v", k, err)
	}
	dir := t.TempDir()
	k, err := FindKernel(ctx, []Layer{base, old, mods}, dir)
	if err != nil || k == nil || k.Version != "5.10.0-1" || k.Modules != filepath.Join(dir, "lib/modules/5.10.0-1") {
		t.Fatalf("old kernel: %+v, %v", k, err)
	}
	if b, _ := os.ReadFile(k.Vmlinuz); string(b) != "old" {
		t.Errorf("vmlinuz holds %q", b)
	}
	k, err = FindKernel(ctx, []Layer{base, old, mods, top}, t.TempDir())
	if err != nil || k == nil || k.Version != "6.1.0-9" || !strings.HasSuffix(k.Modules, "usr/lib/modules/6.1.0-9") {
		t.Errorf("the newest kernel with modules: %+v, %v", k, err)
	}
	lone := squash(t, "base-lone.sqfs", map[string]string{"boot/vmlinuz-7.0.0-1": "x"})
	_, err = FindKernel(ctx, []Layer{base, lone}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "/boot/vmlinuz-7.0.0-1 (layer base-lone.sqfs) has no /lib/modules/7.0.0-1/modules.dep") {
		t.Errorf("a kernel without modules: %v", err)
	}
	for _, v := range [][2]string{{"6.1.0-9", "6.1.0-10"}, {"5.10.0-1", "6.1.0-9"}, {"6.1.0-9-amd64", "6.1.0-10-amd64"}} {
		if !versionLess(v[0], v[1]) || versionLess(v[1], v[0]) {
			t.Errorf("versionLess(%s, %s)", v[0], v[1])
		}
	}
}

// TestKernelVersion reads uname -r from a bzImage's setup header: the
// version string up to its first space; a file without the header is an
// error naming it.
func TestKernelVersion(t *testing.T) {
	img := make([]byte, 0x400)
	img[510], img[511] = 0x55, 0xaa
	copy(img[514:], "HdrS")
	img[526], img[527] = 0x00, 0x01 // the version at 0x100 + 0x200
	copy(img[0x300:], "6.1.0-27-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP\x00")
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "vmlinuz"), filepath.Join(dir, "not-a-kernel")
	if err := os.WriteFile(good, img, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, make([]byte, 0x400), 0o644); err != nil {
		t.Fatal(err)
	}
	if v, err := KernelVersion(good); err != nil || v != "6.1.0-27-cloud-amd64" {
		t.Errorf("KernelVersion = %q, %v", v, err)
	}
	if _, err := KernelVersion(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("not a kernel: %v", err)
	}
}
