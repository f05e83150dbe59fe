package debian

import (
	"context"
	"regexp"
	"strings"
	"time"
)

// Retry bounds retries of transient failures: Attempts runs in all, waiting
// Backoff, then twice that, and so on, between them.
type Retry struct {
	Attempts int
	Backoff  time.Duration
}

// DefaultRetry is what builds use: four attempts over about half a minute.
var DefaultRetry = Retry{Attempts: 4, Backoff: 4 * time.Second}

// Do calls fn until it succeeds, reports a failure that is not worth
// retrying, or has run r.Attempts times. It returns fn's last error.
func (r Retry) Do(ctx context.Context, fn func() (retry bool, err error)) error {
	wait := r.Backoff
	for attempt := 1; ; attempt++ {
		retry, err := fn()
		if err == nil || !retry || attempt >= r.Attempts {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// transient matches what apt, mmdebstrap and debootstrap print when a fetch
// failed for reasons that may pass: the network, a mirror being synced.
var transient = regexp.MustCompile(`(?i)` + strings.Join([]string{
	`temporary failure (in name )?resolution`, `temporary failure resolving`,
	`could not resolve`, `could not connect`, `connection (timed out|refused|reset|failed)`,
	`unable to connect`, `network is unreachable`, `no route to host`,
	`failed to fetch`, `unable to fetch some archives`, `some index files failed to download`,
	`hash sum mismatch`, `file has unexpected size`, `mirror sync in progress`,
	`503 service unavailable`, `502 bad gateway`, `504 gateway time-?out`,
	`couldn't download`, `failed getting release file`,
	`could not get lock`, // another apt on the same cache, outside mode's lock
}, "|"))

// Transient reports whether a tool's output tells of a fetch failure worth
// retrying.
func Transient(out string) bool {
	return transient.MatchString(out)
}

// Cause picks the lines of a tool's output that say why it failed: its "E:"
// lines (apt, mmdebstrap, debootstrap all use them), or else its last lines.
func Cause(out string) string {
	var errs []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "E: ") {
			errs = append(errs, strings.TrimPrefix(line, "E: "))
		}
	}
	if len(errs) == 0 {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) > 3 {
			lines = lines[len(lines)-3:]
		}
		errs = lines
	}
	if len(errs) > 4 {
		errs = errs[:4]
	}
	return strings.Join(errs, "; ")
}
