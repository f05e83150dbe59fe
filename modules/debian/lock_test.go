package debian

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLockCache(t *testing.T) {
	cache := t.TempDir()
	unlock, err := LockCache(context.Background(), cache)
	if err != nil {
		t.Fatal(err)
	}
	// A second holder waits: here until its context ends (a negative check,
	// so its length only costs time; a slow machine cannot fail it).
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := LockCache(ctx, cache); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second LockCache while held: %v, want it to wait until the deadline", err)
	}
	unlock()
	unlock2, err := LockCache(context.Background(), cache)
	if err != nil {
		t.Fatalf("LockCache after unlock: %v", err)
	}
	unlock2()
}
