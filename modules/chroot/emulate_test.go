package chroot

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/internal/testutil"
)

// TestStepCannotEscapeArm64 is TestStepCannotEscape with the escape program
// built for arm64 and run under QEMU user emulation (Emulate: binfmt_misc,
// flag F, the emulator never in the root): the sandbox holds for an arm64
// step as for a native one. The program's own failure line shows that it
// ran.
func TestStepCannotEscapeArm64(t *testing.T) {
	testutil.RequiresQEMUUser(t)
	root := newRoot(t)
	bin := filepath.Join(root, "escape")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = "testdata/escape"
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOARCH=arm64", "GOFLAGS=-mod=mod", "GOWORK=off", "GO111MODULE=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build (arm64): %v\n%s", err, b)
	}
	if f, err := elf.Open(bin); err != nil || f.Machine != elf.EM_AARCH64 {
		t.Fatalf("the escape program is not an arm64 ELF: %v", err)
	}
	if err := Emulate("arm64"); err != nil {
		t.Fatal(err)
	}
	host := t.TempDir()
	must(t, os.WriteFile(filepath.Join(host, "secret"), []byte("host\n"), 0o600))
	target := filepath.Join(host, "pwned")
	var out bytes.Buffer
	err := Run(context.Background(), root, Options{Stdout: &out, Stderr: &out}, "/escape", target, host)
	if _, serr := os.Stat(target); serr == nil {
		t.Fatalf("the arm64 step wrote %s on the host:\n%s", target, out.String())
	}
	if strings.Contains(out.String(), "listed "+host) {
		t.Errorf("the arm64 step listed the host directory %s:\n%s", host, out.String())
	}
	if err == nil {
		t.Errorf("the escape program succeeded:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "write: ") { // its own line: it ran, and failed to reach the host
		t.Errorf("the arm64 program did not run under emulation:\n%s", out.String())
	}
	t.Logf("escape program (arm64): %v\n%s", err, out.String())
}

// TestStepSandboxArm64 is TestStepSandbox in a root of arm64's busybox
// (Debian's busybox-static of arm64), every command of the step run under
// QEMU user emulation: the same namespaces, capabilities, no_new_privs,
// seccomp filter, and no block device, mount or sysctl write.
func TestStepSandboxArm64(t *testing.T) {
	testutil.RequiresRoot(t)
	bb := testutil.Arm64Kernel(t).Busybox
	if err := Emulate("arm64"); err != nil {
		t.Fatal(err)
	}
	for _, noSync := range []bool{false, true} {
		t.Run(map[bool]string{false: "sync", true: "nosync"}[noSync], func(t *testing.T) {
			root := t.TempDir()
			testutil.BusyboxRootOf(t, root, bb)
			var out bytes.Buffer
			if err := Run(context.Background(), root, Options{Stdout: &out, Stderr: &out}, "/bin/busybox", "uname", "-m"); err != nil || out.String() != "aarch64\n" {
				t.Fatalf("the step's busybox is not arm64's under emulation: %q, %v", out.String(), err)
			}
			testStepSandbox(t, root, noSync)
		})
	}
}
