package testutil

import (
	"os"
	"testing"
)

// RequiresRoot fails the test, with a message saying why, when it does not run
// as root. It never skips: a test that needs root must run where root is.
func RequiresRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("%s needs root (mknod, chown, trusted.* and security.* xattrs): run it as root", t.Name())
	}
}
