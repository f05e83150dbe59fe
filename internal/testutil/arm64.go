package testutil

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/mode-build/mode/boot/kernel"
)

var (
	arm64KernOnce sync.Once
	arm64Kern     *kernel.Kernel
	arm64KernErr  error
	arm64Once     sync.Once
	arm64Bin      string
	arm64Err      error
)

// ModeArm64 returns mode cross-built for arm64 (GOARCH=arm64) beside
// Binaries' mode as mode-arm64, where mode boot --arch arm64 looks for it;
// built once per test binary.
func ModeArm64(t testing.TB) string {
	t.Helper()
	bins := Binaries(t)
	arm64Once.Do(func() {
		arm64Bin = filepath.Join(bins, "mode-arm64")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", arm64Bin, "./cmd/mode")
		cmd.Dir = RepoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOARCH=arm64")
		if out, err := cmd.CombinedOutput(); err != nil {
			arm64Err = &buildError{"./cmd/mode (GOARCH=arm64)", err, string(out)}
		}
	})
	if arm64Err != nil {
		t.Fatal(arm64Err)
	}
	return arm64Bin
}

// KernelDir is where the boot tests keep Debian's kernels: $MODE_KERNEL_DIR,
// else .cache/kernel of the repository (arm64's in its arm64/).
func KernelDir(t testing.TB) string {
	if d := os.Getenv("MODE_KERNEL_DIR"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(t), ".cache", "kernel")
}

// RequiresQEMUArm64 fails the test when qemu-system-aarch64 is missing
// (make deps installs qemu-system-arm).
func RequiresQEMUArm64(t testing.TB) {
	t.Helper()
	RequiresQEMUUser(t)
	if _, err := exec.LookPath("qemu-system-aarch64"); err != nil {
		t.Fatal("this test boots an arm64 guest: install qemu-system-arm (make deps)")
	}
}

// Arm64Kernel is Debian's arm64 cloud kernel with busybox-static of arm64
// beside it, unpacked once into KernelDir(t)/arm64 (kernel.FetchArch, as
// mode boot --arch arm64 does: about 80 s and 190 MiB the first time).
func Arm64Kernel(t testing.TB) *kernel.Kernel {
	t.Helper()
	RequiresQEMUUser(t) // the QEMU tier, skipped by -short
	arm64KernOnce.Do(func() {
		arm64Kern, arm64KernErr = kernel.FetchArch(context.Background(), filepath.Join(KernelDir(t), "arm64"), "arm64", runtime.GOARCH)
		if arm64KernErr == nil && arm64Kern.Busybox == "" {
			arm64KernErr = os.ErrNotExist
		}
	})
	if arm64KernErr != nil {
		t.Fatalf("Debian's arm64 kernel and busybox-static (mmdebstrap --variant=extract --architectures=arm64): %v", arm64KernErr)
	}
	return arm64Kern
}
