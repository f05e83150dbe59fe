package testutil

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// MountsUnder lists the mount points at or below dir, from /proc/self/mountinfo.
func MountsUnder(t testing.TB, dir string) []string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var found []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			found = append(found, fields[4])
		}
	}
	return found
}

// LoopsOf lists the loop devices (losetup -a lines) backed by a file at or below dir.
func LoopsOf(t testing.TB, dir string) []string {
	t.Helper()
	out, err := exec.Command("losetup", "-a").CombinedOutput()
	if err != nil {
		t.Fatalf("losetup -a: %v: %s", err, out)
	}
	var found []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, dir) {
			found = append(found, l)
		}
	}
	return found
}

// NoLeaks fails t when a mount or a loop device below dir is left. The
// kernel frees an autoclear loop device asynchronously after its last
// unmount, so loops get up to three seconds to go.
func NoLeaks(t testing.TB, dir string) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		if len(LoopsOf(t, dir)) == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if m := MountsUnder(t, dir); len(m) > 0 {
		t.Errorf("mounts left under %s: %v", dir, m)
	}
	if l := LoopsOf(t, dir); len(l) > 0 {
		t.Errorf("loop devices left for %s: %v", dir, l)
	}
}

// BusyboxRoot makes dir a minimal root tree from the host's busybox-static:
// /bin/busybox, its applets as links, and the usual directories.
func BusyboxRoot(t testing.TB, dir string) {
	t.Helper()
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatalf("busybox not found (apt-get install busybox-static; make deps does): %v", err)
	}
	BusyboxRootOf(t, dir, bb)
}

// BusyboxRootOf is BusyboxRoot with the busybox at bb (another
// architecture's: Arm64Busybox).
func BusyboxRootOf(t testing.TB, dir, bb string) {
	t.Helper()
	for _, d := range []string{"bin", "sbin", "etc", "usr/bin", "usr/sbin", "proc", "sys", "dev", "run", "tmp", "root", "var/log"} {
		if err := os.MkdirAll(dir+"/"+d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/bin/busybox", data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{"sh", "ls", "cat", "echo", "rm", "mkdir", "touch", "sleep", "mount", "grep", "true", "false", "chmod", "ln", "stat"} {
		if err := os.Symlink("busybox", dir+"/bin/"+app); err != nil {
			t.Fatal(err)
		}
	}
}
