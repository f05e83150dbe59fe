package kernel

import (
	"os"
	"os/user"
	"strconv"
	"syscall"
	"testing"
)

// TestAptOwns: the kernel's download directory goes to _apt, so that
// apt-get download fetches sandboxed.
func TestAptOwns(t *testing.T) {
	if testing.Short() {
		t.Skip("chowns (root): not with -short")
	}
	u, err := user.Lookup("_apt")
	if err != nil || os.Geteuid() != 0 {
		t.Fatalf("this test needs root and apt's _apt user: %v", err)
	}
	dir := t.TempDir()
	if err := aptOwns(dir); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(dir)
	if uid := fi.Sys().(*syscall.Stat_t).Uid; strconv.Itoa(int(uid)) != u.Uid {
		t.Errorf("owner %d, want _apt (%s)", uid, u.Uid)
	}
}
