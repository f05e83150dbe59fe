package maker

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// deadPid returns the pid of a process that has exited.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("/bin/true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// TestLockSweeps: a build's Lock removes the temporary files a killed build
// left in the output directory and the scratch directories of dead builds,
// keeps everything else, and a second build of the same directory is
// refused, naming the owner's pid.
func TestLockSweeps(t *testing.T) {
	out, scratch := t.TempDir(), t.TempDir()
	dead := strconv.Itoa(deadPid(t))
	for _, f := range []string{".base.sqfs.tmp-123", ".base.json.tmp-9", ".base-essential.sqfs.tmp-7e21a6f2c37b", "base.sqfs", "base.json", ".keep", ".x.sqfs.1234abcd.partial"} {
		must(t, os.WriteFile(filepath.Join(out, f), nil, 0o644))
	}
	must(t, os.MkdirAll(filepath.Join(out, ".mine.sqfs.save-77", "first"), 0o755))
	for _, d := range []string{"ws-" + dead + "-1", "base-" + dead + "-2", "bootstrap-" + dead + "-4", "foreign-" + dead + "-5", "ws-" + strconv.Itoa(os.Getpid()) + "-3", "ws-12345", "other"} {
		must(t, os.MkdirAll(filepath.Join(scratch, d, "upper"), 0o755))
	}
	mk := &Maker{Scratch: scratch}
	unlock, err := mk.Lock(out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dirNames(t, out), []string{".keep", ".mode.lock", ".x.sqfs.1234abcd.partial", "base.json", "base.sqfs"}; !slices.Equal(got, want) {
		t.Errorf("out after Lock: %v, want %v", got, want)
	}
	want := []string{"other", "ws-" + strconv.Itoa(os.Getpid()) + "-3", "ws-12345"}
	slices.Sort(want)
	if got := dirNames(t, scratch); !slices.Equal(got, want) {
		t.Errorf("scratch after Lock: %v, want %v", got, want)
	}
	_, err = (&Maker{Scratch: scratch}).Lock(out)
	if err == nil || !strings.Contains(err.Error(), "another build (pid "+strconv.Itoa(os.Getpid())+")") {
		t.Errorf("second Lock: %v, want it refused naming pid %d", err, os.Getpid())
	}
	must(t, unlock())
	if _, err := os.Stat(filepath.Join(out, lockName)); !os.IsNotExist(err) {
		t.Errorf("lock file left after unlock: %v", err)
	}
	unlock, err = (&Maker{Scratch: scratch}).Lock(out)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	must(t, unlock())
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range es {
		n = append(n, e.Name())
	}
	return n
}

// TestBusy: a lock file read before its owner wrote its pid names no pid.
func TestBusy(t *testing.T) {
	for lock, want := range map[string]string{
		"1234\n": "/o: another build (pid 1234) is writing there",
		"":       "/o: another build is writing there",
		"\n":     "/o: another build is writing there",
		"12ab":   "/o: another build is writing there",
	} {
		if got := busy("/o", lock).Error(); got != want {
			t.Errorf("busy(%q) = %q; want %q", lock, got, want)
		}
	}
}
