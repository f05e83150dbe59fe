package chroot

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildStatic builds the Go program in dir as a static binary at out.
func buildStatic(t *testing.T, dir, out string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off", "GO111MODULE=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", dir, err, b)
	}
}

// TestStepCannotEscape runs issue 12's escape program (mkdir, chroot into
// it, chdir("..") up, chroot(".")) as a step: it must not reach the host,
// which it would after a plain chroot(2).
func TestStepCannotEscape(t *testing.T) {
	root := newRoot(t)
	buildStatic(t, "testdata/escape", filepath.Join(root, "escape"))
	host := t.TempDir() // a host directory the step must not see or write
	must(t, os.WriteFile(filepath.Join(host, "secret"), []byte("host\n"), 0o600))
	target := filepath.Join(host, "pwned")
	var out bytes.Buffer
	err := Run(context.Background(), root, Options{Stdout: &out, Stderr: &out}, "/escape", target, host)
	if _, serr := os.Stat(target); serr == nil {
		t.Fatalf("the step wrote %s on the host:\n%s", target, out.String())
	}
	if strings.Contains(out.String(), "listed "+host) {
		t.Errorf("the step listed the host directory %s:\n%s", host, out.String())
	}
	if err == nil {
		t.Errorf("the escape program succeeded (inside the root, where %s does not exist?):\n%s", host, out.String())
	}
	t.Logf("escape program: %v\n%s", err, out.String())
}

// TestStepSandbox checks what a step sees: its own IPC namespace, no
// block devices, no_new_privs, the reduced bounding set, a read-only
// /proc/sys and sysrq-trigger, and that it cannot mount.
func TestStepSandbox(t *testing.T) {
	for _, noSync := range []bool{false, true} {
		t.Run(map[bool]string{false: "sync", true: "nosync"}[noSync], func(t *testing.T) { testStepSandbox(t, newRoot(t), noSync) })
	}
}

// testStepSandbox is TestStepSandbox in root (a busybox tree) with or
// without Options.NoSync: the seccomp filter changes nothing else.
func testStepSandbox(t *testing.T, root string, noSync bool) {
	var out bytes.Buffer
	script := `grep -E '^(NoNewPrivs|CapBnd|CapEff|Seccomp):' /proc/self/status
find /dev -type b | sed 's/^/block /'
echo x > /proc/sys/kernel/hostname 2>/dev/null && echo wrote-sysctl
echo h > /proc/sysrq-trigger 2>/dev/null && echo wrote-sysrq
mount -t tmpfs t /mnt 2>/dev/null && echo mounted
mknod /tmp/sda b 8 0 && head -c 1 /tmp/sda >/dev/null 2>&1 && echo read-block-device
mknod /dev/sdb b 8 16 2>/dev/null && echo mknod-in-dev
echo "ipc-ns $(readlink /proc/self/ns/ipc)"
true`
	must(t, os.MkdirAll(filepath.Join(root, "mnt"), 0o755))
	if err := Run(context.Background(), root, Options{Stdout: &out, Stderr: &out, NoSync: noSync}, "/bin/sh", "-c", script); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, bad := range []string{"block ", "wrote-sysctl", "wrote-sysrq", "mounted", "read-block-device", "mknod-in-dev"} {
		if strings.Contains(got, bad) {
			t.Errorf("the step could do %q:\n%s", bad, got)
		}
	}
	// keptCaps: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
	// NET_BIND_SERVICE SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
	for _, want := range []string{"NoNewPrivs:\t1", "CapBnd:\t00000000a80405fb", "CapEff:\t00000000a80405fb", "ipc-ns ipc:["} {
		if !strings.Contains(got, want) {
			t.Errorf("status lacks %q:\n%s", want, got)
		}
	}
	if want := map[bool]string{false: "Seccomp:\t0", true: "Seccomp:\t2"}[noSync]; !strings.Contains(got, want) {
		t.Errorf("status lacks %q:\n%s", want, got)
	}
	hostIPC, err := os.Readlink("/proc/self/ns/ipc")
	must(t, err)
	if strings.Contains(got, hostIPC) {
		t.Errorf("the step shares the host's IPC namespace %s:\n%s", hostIPC, got)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
