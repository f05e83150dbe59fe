package nosync

import (
	"os/exec"
	"strings"
	"testing"
)

// syncNull runs `sync /dev/null` (coreutils: fsync on the file, or
// fdatasync with -d, syncfs with -f), under the filter when wrapped. /dev/null
// has no fsync: the kernel answers EINVAL, unless the filter answers first.
func syncNull(t *testing.T, wrapped bool, flag string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("sync")
	if err != nil {
		t.Fatalf("coreutils' sync: %v", err)
	}
	args := []string{"/dev/null"}
	if flag != "" {
		args = []string{flag, "/dev/null"}
	}
	cmd := exec.Command(bin, args...)
	if wrapped {
		path, argv, env, err := Wrap(bin, args)
		if err != nil {
			t.Fatal(err)
		}
		cmd = exec.Command(path)
		cmd.Args = argv
		cmd.Env = append(cmd.Environ(), env)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestFlushIsNoOp: fsync and fdatasync of /dev/null fail with EINVAL
// outside the filter and return 0 under it; so the kernel takes
// SECCOMP_RET_ERRNO with errno 0 as "return 0" and skips the call.
func TestFlushIsNoOp(t *testing.T) {
	for _, flag := range []string{"", "-d"} {
		if out, err := syncNull(t, false, flag); err == nil || !strings.Contains(out, "Invalid argument") {
			t.Fatalf("sync %s /dev/null without the filter: %v %q; want EINVAL", flag, err, out)
		}
		if out, err := syncNull(t, true, flag); err != nil {
			t.Fatalf("sync %s /dev/null under the filter: %v %q; want success", flag, err, out)
		}
	}
}

// TestWrapRunsTheCommand: the wrapped command gets its arguments, its
// environment (without the wrapper's variable) and its exit code; other
// system calls work.
func TestWrapRunsTheCommand(t *testing.T) {
	path, argv, env, err := Wrap("/bin/sh", []string{"-c", `echo "$0 $1 [$FOO] [$` + execEnv + `]"; exit 3`, "a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path)
	cmd.Args = argv
	cmd.Env = append(cmd.Environ(), env, "FOO=bar")
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("exit: %v, want code 3", err)
	}
	if got := strings.TrimSpace(string(out)); got != "a b [bar] []" {
		t.Fatalf("output %q", got)
	}
	if _, _, _, err := Wrap("sh", nil); err == nil {
		t.Fatal("a relative command was wrapped")
	}
}
