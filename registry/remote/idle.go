package remote

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// errStalled: a try of a download received no byte for the idle timeout
// (a link that holds the connection open and sends nothing); it is retried.
var errStalled = errors.New("transfer stalled")

// watchdog ends a try whose transfer stalls: its context is cancelled once
// no byte was written to the watchdog for idle (from the start: the
// response's headers count as waiting too).
type watchdog struct {
	idle  time.Duration
	t     *time.Timer
	fired atomic.Bool
}

// startWatchdog returns the try's context, its watchdog, and stop, which
// the try must call when done. idle <= 0 never fires.
func startWatchdog(ctx context.Context, idle time.Duration) (context.Context, *watchdog, func()) {
	ctx, cancel := context.WithCancel(ctx)
	w := &watchdog{idle: idle}
	if idle > 0 {
		w.t = time.AfterFunc(idle, func() { w.fired.Store(true); cancel() })
	}
	return ctx, w, func() {
		if w.t != nil {
			w.t.Stop()
		}
		cancel()
	}
}

// Write counts bytes arriving: the idle time starts again.
func (w *watchdog) Write(p []byte) (int, error) {
	if w.t != nil && len(p) > 0 {
		w.t.Reset(w.idle)
	}
	return len(p), nil
}

// err returns errStalled for an error of a try the watchdog ended (not a
// cancellation: the try is retried), err otherwise.
func (w *watchdog) err(err error) error {
	if err != nil && w.fired.Load() {
		return fmt.Errorf("no byte for %s: %w", w.idle, errStalled)
	}
	return err
}
