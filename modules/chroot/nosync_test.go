package chroot

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/mode-build/mode/internal/testutil"
)

// TestRunNoSync: with NoSync a step's fsync returns 0 where the kernel says
// EINVAL (/dev/null has no fsync; busybox's sync FILE fsyncs it), for the
// step and its children; without it the step sees the kernel's answer.
// The rest of the sandbox is as strict with it (TestStepSandbox runs both).
func TestRunNoSync(t *testing.T) {
	root := newRoot(t)
	for _, noSync := range []bool{false, true} {
		var out bytes.Buffer
		err := Run(context.Background(), root, Options{Stdout: &out, Stderr: &out, NoSync: noSync},
			"/bin/sh", "-c", "sync /dev/null && echo parent-ok; sh -c 'sync -d /dev/null' && echo child-ok; true")
		if err != nil {
			t.Fatalf("NoSync %v: %v\n%s", noSync, err, out.String())
		}
		got := out.String()
		if noSync && (!strings.Contains(got, "parent-ok") || !strings.Contains(got, "child-ok")) {
			t.Errorf("NoSync: fsync of /dev/null failed:\n%s", got)
		}
		if !noSync && (strings.Contains(got, "-ok") || !strings.Contains(got, "Invalid argument")) {
			t.Errorf("without NoSync: fsync of /dev/null did not fail with EINVAL:\n%s", got)
		}
	}
	testutil.NoLeaks(t, root)
}
