package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/store"
)

// TestBuildArm64Tiny: examples/tiny builds for arm64 on this host beside its
// amd64 build: busybox-static of arm64 unpacked for the base, every run step
// of essential and console run under QEMU user emulation, the layers in
// out/arm64 with the same names, the amd64 layers and tags untouched, the
// arm64 chains stored as NAME-arm64 with the architecture in their layers'
// metadata.
func TestBuildArm64Tiny(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresQEMUUser(t)
	out, dir := t.TempDir(), t.TempDir()
	if b, err := modeCmd("build", "--dir", "../../examples/tiny", "--out", out, "--store", dir).CombinedOutput(); err != nil {
		t.Fatalf("build amd64: %v\n%s", err, b)
	}
	amd, err := os.ReadFile(filepath.Join(out, "base-essential-console.sqfs"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := modeCmd("build", "--dir", "../../examples/tiny", "--out", out, "--store", dir, "--arch", "arm64").CombinedOutput()
	if err != nil {
		t.Fatalf("build arm64: %v\n%s", err, b)
	}
	for _, tag := range []string{"base-arm64", "essential-arm64", "console-arm64", "extra-arm64"} {
		if !strings.Contains(string(b), "stored tiny:"+tag+" ") {
			t.Errorf("arm64 build did not store tiny:%s:\n%s", tag, b)
		}
	}
	if again, _ := os.ReadFile(filepath.Join(out, "base-essential-console.sqfs")); string(again) != string(amd) {
		t.Error("the arm64 build changed the amd64 layer")
	}
	tree := filepath.Join(t.TempDir(), "console")
	for _, l := range []string{"base.sqfs", "base-essential.sqfs", "base-essential-console.sqfs"} {
		if b, err := exec.Command("unsquashfs", "-f", "-q", "-n", "-d", tree, filepath.Join(out, "arm64", l)).CombinedOutput(); err != nil {
			t.Fatalf("unsquashfs %s: %v\n%s", l, err, b)
		}
	}
	f, err := elf.Open(filepath.Join(tree, "bin/busybox"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		t.Errorf("arm64 base's busybox is for %v", f.Machine)
	}
	// Written by run steps: busybox of arm64 ran them.
	if b, err := os.ReadFile(filepath.Join(tree, "etc/console.conf")); err != nil || string(b) != "console=yes\n" {
		t.Errorf("console's run step: %q, %v", b, err)
	}
	if fi, err := os.Lstat(filepath.Join(tree, "bin/ls")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("base's busybox --install did not make /bin/ls: %v", err)
	}
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, _, _, err := s.Chain("tiny", "console-arm64")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range c.Layers {
		if l.Arch() != "arm64" {
			t.Errorf("stored arm64 layer %s: architecture %q", l.File, l.Architecture)
		}
	}
	c, _, _, err = s.Chain("tiny", "console")
	if err != nil {
		t.Fatal(err)
	}
	if c.Layers[2].Arch() != "amd64" || c.Layers[2].Architecture != "" {
		t.Errorf("amd64 console: architecture %q", c.Layers[2].Architecture)
	}
}

// TestBuildArchBad: an unknown --arch and a module pinned to another
// architecture are refused before anything is built, naming the value.
func TestBuildArchBad(t *testing.T) {
	testutil.RequiresRoot(t)
	out := t.TempDir()
	b, err := modeCmd("build", "--dir", "../../examples/tiny", "--out", out, "--no-store", "--arch", "riscv").CombinedOutput()
	if err == nil || !strings.Contains(string(b), `--arch: architecture "riscv": mode builds for amd64, arm64`) {
		t.Errorf("--arch riscv: %v\n%s", err, b)
	}
	hier := t.TempDir()
	if err := os.CopyFS(hier, os.DirFS("../../examples/tiny")); err != nil {
		t.Fatal(err)
	}
	base, _ := os.ReadFile(filepath.Join(hier, "base.yaml"))
	if err := os.WriteFile(filepath.Join(hier, "base.yaml"), append([]byte("arch: arm64\n"), base...), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err = modeCmd("build", "--dir", hier, "--out", out, "--no-store", "--arch", "amd64").CombinedOutput()
	if err == nil || !strings.Contains(string(b), "base.yaml:1: module base is for arm64, but the build is for amd64 (--arch)") {
		t.Errorf("pinned arm64, --arch amd64: %v\n%s", err, b)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("a refused build left %d entries in --out", len(entries))
	}
}
