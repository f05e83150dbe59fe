package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// Test tiers. Plain tests run anywhere. Root tests (RequiresRoot), tests
// that run tools (RequiresTools) and QEMU tests (RequiresQEMU) run in make
// test, where all of them must run: there a missing root or tool fails the
// test, saying why. go test -short (make test-unit) skips those tiers, so
// the plain tier passes on a bare machine: no root, no tools, no QEMU, no
// network.

// RequiresRoot fails the test, with a message saying why, when it does not run
// as root. With -short it skips the test instead (the root tier).
func RequiresRoot(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("root tier (mounts, namespaces, mknod, chown, trusted.* xattrs): make test runs it, -short does not")
	}
	if os.Geteuid() != 0 {
		t.Fatalf("%s needs root (mknod, chown, trusted.* and security.* xattrs): run it as root", t.Name())
	}
}

// RequiresTools fails the test when one of tools is not in PATH, naming the
// Debian package list (make deps installs them). With -short it skips the
// test instead (the tools tier).
func RequiresTools(t testing.TB, tools ...string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("tools tier (%v): make test runs it, -short does not", tools)
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s needs %s: install it (make deps)", t.Name(), tool)
		}
	}
}
