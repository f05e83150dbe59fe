package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/boot/uki"
	"github.com/mode-build/mode/internal/testutil"
)

// TestImageBadInput: each bad input is one clear error naming the value at
// fault, and leaves nothing in the output directory.
func TestImageBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("builds examples/tiny and an initramfs (root, the kernel): not with -short")
	}
	testutil.RequiresRoot(t)
	bins := testutil.Binaries(t)
	storeDir := filepath.Join(t.TempDir(), "store")
	testutil.BuildTiny(t, filepath.Join(t.TempDir(), "out"), storeDir)
	k := testutil.Kernel(t)
	initrd := testutil.Initramfs(t)
	fake := filepath.Join(t.TempDir(), "lib", "modules", "9.9.9-other")
	if err := os.MkdirAll(filepath.Join(fake, "kernel"), 0o755); err != nil {
		t.Fatal(err)
	}
	keys := t.TempDir()
	sa, err := uki.WriteKey(filepath.Join(keys, "a"), "a")
	if err != nil {
		t.Fatal(err)
	}
	sb, err := uki.WriteKey(filepath.Join(keys, "b"), "b")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"Secure Boot cert without key", []string{"-f", "iso", "--kernel", k.Vmlinuz, "--initrd", initrd, "--secure-boot-cert", sa.Cert},
			[]string{"--secure-boot-key and --secure-boot-cert go together"}},
		{"Secure Boot key of another cert", []string{"-f", "disk", "--kernel", k.Vmlinuz, "--initrd", initrd, "--secure-boot-key", sa.Key, "--secure-boot-cert", sb.Cert},
			[]string{"UKI signing key " + sa.Key + " is not the key of certificate " + sb.Cert}},
		{"Secure Boot initramfs", []string{"-f", "initramfs", "--initrd", initrd, "--secure-boot-key", sa.Key, "--secure-boot-cert", sa.Cert},
			[]string{"a Secure Boot UKI goes on an ESP: iso or disk only"}},
		{"no kernel", []string{"-f", "iso"},
			[]string{"chain extra has no kernel", "give --kernel"}},
		{"size too small", []string{"-f", "disk", "--size", "40M", "--kernel", k.Vmlinuz, "--initrd", initrd},
			[]string{"--size 40 MiB: too small", "need"}},
		{"unknown format", []string{"-f", "floppy", "--kernel", k.Vmlinuz, "--initrd", initrd},
			[]string{`--format "floppy": unknown format`, "iso, disk, initramfs"}},
		{"missing directory", []string{"-f", "iso", "--kernel", k.Vmlinuz, "--initrd", initrd, "-o", "/nonexistent/dir/x.iso"},
			[]string{"-o /nonexistent/dir/x.iso: directory /nonexistent/dir does not exist"}},
		{"modules of another kernel", []string{"-f", "iso", "--kernel", k.Vmlinuz, "--kernel-modules", fake},
			[]string{"--kernel " + k.Vmlinuz + " is Linux " + k.Version, "holds the modules of 9.9.9-other"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"image", "--store", storeDir, "extra", "-o", filepath.Join(dir, "out.img")}, tc.args...)
			out, err := exec.Command(filepath.Join(bins, "mode"), args...).CombinedOutput()
			if err == nil {
				t.Fatalf("mode %s succeeded:\n%s", strings.Join(args, " "), out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("error lacks %q:\n%s", w, out)
				}
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("left in the output directory: %v", left)
			}
		})
	}
	t.Run("initramfs of a chain without a kernel", func(t *testing.T) {
		out, err := exec.Command(filepath.Join(bins, "mode"), "initramfs", "--store", storeDir, "extra", "-o", filepath.Join(t.TempDir(), "i.img")).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "chain extra has no kernel") {
			t.Errorf("mode initramfs extra: %v\n%s", err, out)
		}
	})
}
