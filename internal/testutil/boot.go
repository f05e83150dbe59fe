package testutil

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mode-build/mode/boot/initramfs"
	"github.com/mode-build/mode/boot/kernel"
)

// RepoRoot returns the directory of go.mod above the working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

var (
	binOnce        sync.Once
	binDir, binErr = "", error(nil)
	kernOnce       sync.Once
	kern           *kernel.Kernel
	kernErr        error
	initrdOnce     sync.Once
	initrd         string
	initrdErr      error
	initrdResult   *initramfs.Result
)

// Binaries builds bin/mode and bin/mode-init (static, as make build does) into
// .cache/testbin/<hash of the checkout's path> of the repository, once per
// test binary, and returns their directory: worktrees sharing one .cache do
// not overwrite each other's binaries.
func Binaries(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the mode binaries (the tools tier): make test runs it, -short does not")
	}
	binOnce.Do(func() {
		root := RepoRoot(t)
		sum := sha256.Sum256([]byte(root))
		binDir = filepath.Join(root, ".cache", "testbin", hex.EncodeToString(sum[:6]))
		for _, b := range [][2]string{{"mode", "./cmd/mode"}, {"mode-init", "./cmd/mode-init"}} {
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(binDir, b[0]), b[1])
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				binErr = &buildError{b[1], err, string(out)}
				return
			}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binDir
}

type buildError struct {
	pkg string
	err error
	out string
}

func (e *buildError) Error() string { return "go build " + e.pkg + ": " + e.err.Error() + "\n" + e.out }

// Kernel returns Debian's cloud kernel, fetched once with apt-get into
// $MODE_KERNEL_DIR or .cache/kernel of the repository (make kernel does the same).
func Kernel(t testing.TB) *kernel.Kernel {
	t.Helper()
	if testing.Short() {
		t.Skip("QEMU tier (a Debian kernel): make test runs it, -short does not")
	}
	kernOnce.Do(func() {
		dir := os.Getenv("MODE_KERNEL_DIR")
		if dir == "" {
			dir = filepath.Join(RepoRoot(t), ".cache", "kernel")
		}
		kern, kernErr = kernel.Fetch(context.Background(), dir, "")
	})
	if kernErr != nil {
		t.Fatalf("the boot tests need a Debian kernel (make kernel): %v", kernErr)
	}
	return kern
}

// Initramfs returns mode's initramfs for Kernel, built once per test binary
// from Binaries.
func Initramfs(t testing.TB) string {
	t.Helper()
	bins := Binaries(t)
	k := Kernel(t)
	initrdOnce.Do(func() {
		opts := initramfs.Options{
			Mode:          filepath.Join(bins, "mode"),
			Busybox:       initramfs.HostBusybox,
			CACerts:       initramfs.HostCACerts,
			KernelModules: k.Deb,
		}
		initrd = filepath.Join(bins, "initrd.img")
		initrdResult, initrdErr = initramfs.BuildFile(context.Background(), opts, initrd)
	})
	if initrdErr != nil {
		t.Fatal(initrdErr)
	}
	return initrd
}

// RequiresQEMU fails the test when qemu-system-x86_64 is missing: the boot
// tests run here (make deps installs it).
func RequiresQEMU(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("QEMU tier: make test runs it, -short does not")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Fatal("this test boots QEMU: install qemu-system-x86 (make deps)")
	}
}

// BuildTiny builds examples/tiny with the mode binary of Binaries into out,
// and into the store at store unless it is "".
func BuildTiny(t testing.TB, out, store string) {
	t.Helper()
	BuildExample(t, "tiny", out, store)
}

// BuildExample builds the chains of modules (all when none) of
// examples/NAME with `mode build` into out, and into the store at store
// unless it is "". $MODE_EXAMPLES_DIR replaces the repository's examples/.
func BuildExample(t testing.TB, name, out, store string, modules ...string) {
	t.Helper()
	RequiresRoot(t)
	bins := Binaries(t)
	examples := os.Getenv("MODE_EXAMPLES_DIR")
	if examples == "" {
		examples = filepath.Join(RepoRoot(t), "examples")
	}
	args := []string{"build", "--dir", filepath.Join(examples, name), "--out", out}
	if store == "" {
		args = append(args, "--no-store")
	} else {
		args = append(args, "--store", store)
	}
	cmd := exec.Command(filepath.Join(bins, "mode"), append(args, modules...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mode build examples/%s: %v\n%s", name, err, b)
	}
}

// RequiresQEMUUser fails the test when QEMU's user emulator for arm64 is
// missing: builds for arm64 run their steps with it (make deps installs
// qemu-user-static).
func RequiresQEMUUser(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("QEMU tier: make test runs it, -short does not")
	}
	if _, err := os.Stat("/usr/bin/qemu-aarch64-static"); err != nil {
		t.Fatal("this test builds for arm64: install qemu-user-static (make deps)")
	}
}
