package testutil

import (
	"testing"
	"time"
)

// NoLeaksSettled is NoLeaks after giving the kernel up to three seconds to
// free loop devices: an autoclear loop device is released asynchronously
// after its last unmount, so one may still be listed right after it.
func NoLeaksSettled(t testing.TB, dir string) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		if len(LoopsOf(t, dir)) == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	NoLeaks(t, dir)
}
