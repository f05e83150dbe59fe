package debian

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// LockCache takes the shared apt cache at cache for this process alone,
// waiting while another build (another mode run, a test) holds it: apt's own
// locks fail at once instead of waiting. The returned func releases it.
func LockCache(ctx context.Context, cache string) (unlock func(), err error) {
	return lock(ctx, cache, "mode.lock", unix.LOCK_EX)
}

// LockLists holds the lists of the shared apt cache at cache: exclusive
// while an update rewrites them (taken with LockCache held), shared while an
// install reads them (many at once, each in its own root). Take it after
// LockCache, never before: one order, no deadlock. The returned func
// releases it.
func LockLists(ctx context.Context, cache string, exclusive bool) (unlock func(), err error) {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	return lock(ctx, cache, "mode.lists.lock", how)
}

// lock takes the flock how of cache/name, waiting while it is held.
func lock(ctx context.Context, cache, name string, how int) (unlock func(), err error) {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, fmt.Errorf("apt cache: %w", err)
	}
	path := filepath.Join(cache, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("apt cache: %w", err)
	}
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("apt cache: lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
