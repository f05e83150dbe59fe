package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// TestBootArm64Index (make test-arm64): tiny built for amd64 and arm64 is
// pushed as one index; mode boot --arch arm64 of that tag boots an arm64
// guest (qemu-system-aarch64, Debian's arm64 cloud kernel, mode cross-built
// as its init) whose init picks the arm64 chain from the index and reaches
// tiny's marker.
func TestBootArm64Index(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresQEMUArm64(t)
	bin := testutil.ModeArm64(t)
	out, dir := t.TempDir(), t.TempDir()
	for _, arch := range []string{"amd64", "arm64"} {
		if b, err := modeCmd("build", "--dir", "../../examples/tiny", "--out", out, "--store", dir, "--arch", arch).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", arch, err, b)
		}
	}
	reg, err := store.Open(filepath.Join(t.TempDir(), "registry"))
	if err != nil {
		t.Fatal(err)
	}
	host := registrytest.Serve(t, reg, serve.WithPushToken("tok"))
	if b, err := modeCmd("push", "--token", "tok", "--store", dir, "--platform", "amd64,arm64", "tiny:extra", host+"/tiny:extra").CombinedOutput(); err != nil {
		t.Fatalf("push --platform: %v\n%s", err, b)
	}
	s, _ := store.Open(dir)
	_, _, arm, err := s.Chain("tiny", "extra-arm64")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cmd := modeCmd("boot", "--arch", "arm64", "--mode-binary", bin, "--expect", "MODE-TINY-OK", "--timeout", "10m", host+"/tiny:extra")
	cmd.Env = append(cmd.Env, "MODE_KERNEL_DIR="+testutil.KernelDir(t))
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boot --arch arm64: %v\n%s", err, b)
	}
	t.Logf("arm64 boot of the index to the marker: %.0fs (kernel fetch and initramfs included)", time.Since(start).Seconds())
	if want := "base-essential-console-extra " + arm.String()[:19]; !strings.Contains(string(b), want) {
		t.Errorf("the arm64 init did not pull the arm64 chain (%s):\n%s", want, b)
	}
	if !strings.Contains(string(b), "qemu-system-aarch64") {
		t.Errorf("not booted with qemu-system-aarch64:\n%s", b)
	}
}

// TestBootArchBad: an unknown --arch and a --kernel of another architecture
// than the guest's are refused before QEMU starts, naming them.
func TestBootArchBad(t *testing.T) {
	b, err := modeCmd("boot", "--arch", "mips", "--expect", "x", "127.0.0.1:1/tiny:extra").CombinedOutput()
	if err == nil || !strings.Contains(string(b), `--arch: architecture "mips": mode builds for amd64, arm64`) {
		t.Errorf("boot --arch mips: %v\n%s", err, b)
	}
	k := filepath.Join(t.TempDir(), "vmlinuz")
	bz := make([]byte, 0x300)
	copy(bz[0x202:], "HdrS")
	if err := os.WriteFile(k, bz, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err = modeCmd("boot", "--arch", "arm64", "--kernel", k, "--initrd", k, "--expect", "x", "127.0.0.1:1/tiny:extra").CombinedOutput()
	if err == nil || !strings.Contains(string(b), "--kernel "+k+" is an amd64 kernel, the guest is arm64 (--arch)") {
		t.Errorf("boot --arch arm64 with an amd64 kernel: %v\n%s", err, b)
	}
}
