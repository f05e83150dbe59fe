package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/testutil"
)

// TestBootArm64Debian (make test-arm64 only: mmdebstrap and apt run under
// QEMU user emulation, which takes many minutes): examples/debian's console
// built for arm64 on this host (into .cache/e2e/debian-arm64, so a second
// run rebuilds nothing) and booted from the store with mode boot --arch
// arm64: systemd reaches multi-user.target and console's unit prints
// MODE-CONSOLE-READY.
func TestBootArm64Debian(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresQEMUArm64(t)
	bin := testutil.ModeArm64(t)
	dir := filepath.Join(testutil.RepoRoot(t), ".cache", "e2e", "debian-arm64")
	store := filepath.Join(dir, "store")
	start := time.Now()
	b, err := modeCmd("build", "--dir", "../../examples/debian", "--out", filepath.Join(dir, "out"), "--store", store, "--arch", "arm64", "console").CombinedOutput()
	if err != nil {
		t.Fatalf("build --arch arm64 console: %v\n%s", err, b)
	}
	t.Logf("examples/debian console for arm64 built (or found built): %.0fs", time.Since(start).Seconds())
	step := time.Now()
	cmd := modeCmd("boot", "--arch", "arm64", "--mode-binary", bin, "--store", store, "--memory", "1024",
		"--expect", "MODE-CONSOLE-READY", "--timeout", "25m", "debian:console-arm64")
	cmd.Env = append(cmd.Env, "MODE_KERNEL_DIR="+testutil.KernelDir(t))
	b, err = cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boot --arch arm64 debian:console-arm64: %v\n%s", err, b)
	}
	for _, want := range []string{"boot: qemu-system-aarch64 ", "mode-init: switching root to /sbin/init"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("console lacks %q:\n%s", want, b)
		}
	}
	t.Logf("arm64 Debian console booted to MODE-CONSOLE-READY: %.0fs (the arm64 initramfs built in it)", time.Since(step).Seconds())
}
