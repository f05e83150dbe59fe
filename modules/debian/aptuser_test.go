package debian

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestGiveApt: the partial directories belong to the root's _apt user (mode
// 0700), so that apt downloads sandboxed; a root without _apt leaves them.
func TestGiveApt(t *testing.T) {
	if testing.Short() {
		t.Skip("chowns (root): not with -short")
	}
	if os.Geteuid() != 0 {
		t.Fatal("this test chowns: run it as root (make test does)")
	}
	root, cache := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	passwd := "root:x:0:0:root:/root:/bin/bash\n_apt:x:42:65534::/nonexistent:/usr/sbin/nologin\n"
	if err := os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte(passwd), 0o644); err != nil {
		t.Fatal(err)
	}
	d := filepath.Join(cache, "partial")
	os.Mkdir(d, 0o755)
	if err := giveApt(root, d); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(d)
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != 42 || st.Gid != 65534 || fi.Mode().Perm() != 0o700 {
		t.Errorf("partial: uid %d gid %d mode %v, want 42 65534 0700", st.Uid, st.Gid, fi.Mode().Perm())
	}
	if _, _, ok := aptUser(t.TempDir()); ok {
		t.Error("a root without /etc/passwd has an _apt user")
	}
}
