package chroot

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPrepareShared: two Runs at once in one root (an install and the
// download ahead of it) share the policy-rc.d placeholder: the first to
// end leaves it to the other, the last removes it; a root's own file is
// never removed.
func TestPrepareShared(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"usr/sbin", "etc"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	own := filepath.Join(root, "etc/resolv.conf")
	os.WriteFile(own, []byte("nameserver 10.0.2.3\n"), 0o644)
	policy := filepath.Join(root, "usr/sbin/policy-rc.d")
	first, err := prepare(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	second, err := prepare(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := first(); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(policy); err != nil || string(data) != policyRC {
		t.Fatalf("policy-rc.d gone while the second Run runs: %q, %v", data, err)
	}
	if err := second(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(policy); !os.IsNotExist(err) {
		t.Errorf("policy-rc.d left after the last Run: %v", err)
	}
	if data, _ := os.ReadFile(own); string(data) != "nameserver 10.0.2.3\n" {
		t.Errorf("the root's own resolv.conf: %q", data)
	}
}
