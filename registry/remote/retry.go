package remote

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// permanent marks an error that retrying cannot fix.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// Retry is one failed try that will be tried again, as WithRetryNotify sees it.
type Retry struct {
	What    string        // what is tried: "connect to HOST", "GET URL", a layer's file name
	Try     int           // tries without progress so far (1 after the first failure)
	Wait    time.Duration // the wait before the next try
	Stalled time.Duration // time since the last progress (or the first try)
	Err     error
}

// retryable reports whether err may go away when tried again. Errors of the
// local disk that no retry fixes (full, read-only, over quota) are not.
func retryable(err error) bool {
	if err == nil || errors.As(err, new(permanent)) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EDQUOT) {
		return false
	}
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode >= 500 || te.StatusCode == http.StatusTooManyRequests || te.StatusCode == http.StatusRequestTimeout
	}
	return true // network errors, truncated bodies
}

// retry runs f until it succeeds or fails permanently, retrying as
// retryProgress does for a request that moves no counted bytes.
func (o *options) retry(ctx context.Context, what string, f func() error) error {
	return o.retryProgress(ctx, what, nil, f)
}

// retryProgress runs f until it succeeds, fails permanently, or the retry
// budget is spent, waiting o.backoff, doubled each time up to 10s, between
// tries. done, when not nil, returns how many bytes are held so far: a try
// after which done is higher than ever before made progress, and neither
// counts against the budget nor lengthens the wait. The budget is o.retries
// tries in a row without progress, or with WithRetryFor o.retryFor of time
// without progress. No retries at all: WithRetries(0, …) tries once.
func (o *options) retryProgress(ctx context.Context, what string, done func() int64, f func() error) error {
	wait := o.backoff
	best := int64(-1)
	if done != nil {
		best = done()
	}
	since := time.Now() // the last progress
	failed, total := 0, 0
	for {
		err := f()
		if err == nil {
			return nil
		}
		total++
		if !retryable(err) || ctx.Err() != nil {
			return err
		}
		if done != nil {
			if n := done(); n > best {
				best, failed, wait, since = n, 0, o.backoff, time.Now()
			}
		}
		failed++
		stalled := time.Since(since)
		if o.retryFor > 0 && stalled >= o.retryFor || o.retryFor <= 0 && failed > o.retries {
			return fmt.Errorf("%s: giving up after %d tries (%d in a row without progress, for %s): %w",
				what, total, failed, stalled.Round(time.Millisecond), err)
		}
		if o.retryFor > 0 {
			wait = min(wait, o.retryFor-stalled) // one last try at the end of the budget
		}
		o.logger.Warn("retrying", "what", what, "try", failed, "wait", wait, "err", err)
		if o.notify != nil {
			o.notify(Retry{What: what, Try: failed, Wait: wait, Stalled: stalled, Err: err})
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, maxBackoff)
	}
}

// maxBackoff caps the wait between tries.
const maxBackoff = 10 * time.Second
