package remote_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/faultproxy"
	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/store"
)

// TestPullFlakyLink pulls a 12 MiB chain through a link that cuts every
// connection after at most 1 MiB: each try resumes where the last one
// stopped and moves bytes, so the pull completes though it takes many more
// tries than the retry budget (3 in a row without progress).
func TestPullFlakyLink(t *testing.T) {
	src, ls := registrytest.Store(t, []string{"base", "big"}, 12<<20)
	p, err := faultproxy.New(registrytest.Serve(t, src), 25, faultproxy.Faults{CutMin: 64 << 10, CutMax: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, _, err := remote.Pull(ctx, p.Addr()+"/test:big", out, remote.WithStore(s), remote.WithRetries(3, 5*time.Millisecond)); err != nil {
		t.Fatalf("pull through the flaky link: %v (proxy %+v)", err, p.Stats())
	}
	for _, l := range ls {
		registrytest.SameFile(t, l.Path, filepath.Join(out, l.Meta.File))
	}
	if st := p.Stats(); st.Cuts <= 4 {
		t.Errorf("proxy cut %d connections (%+v); the test wants more cuts than the retry budget", st.Cuts, st)
	}
}

// TestPullDeadLinkGivesUp: a link that refuses every connection makes no
// progress: the pull gives up after the budget of tries, or of time with
// WithRetryFor, saying so, and WithRetryNotify sees each retry.
func TestPullDeadLinkGivesUp(t *testing.T) {
	src, _ := registrytest.Store(t, []string{"base"}, 0)
	p, err := faultproxy.New(registrytest.Serve(t, src), 1, faultproxy.Faults{Down: true, Reset: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	for _, tc := range []struct {
		name string
		opts []remote.Option
		want string
	}{
		{"count", []remote.Option{remote.WithRetries(2, time.Millisecond)}, "giving up after 3 tries (3 in a row without progress"},
		{"time", []remote.Option{remote.WithRetries(0, 10*time.Millisecond), remote.WithRetryFor(300 * time.Millisecond)}, "giving up after "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var seen []remote.Retry
			var mu sync.Mutex
			notify := remote.WithRetryNotify(func(r remote.Retry) { mu.Lock(); seen = append(seen, r); mu.Unlock() })
			start := time.Now()
			_, _, err := remote.Pull(context.Background(), p.Addr()+"/test:base", t.TempDir(), append(tc.opts, notify)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "connect to "+p.Addr()) {
				t.Fatalf("pull over a dead link: %v; want %q", err, tc.want)
			}
			if tc.name == "time" && time.Since(start) < 300*time.Millisecond {
				t.Errorf("gave up after %s, before the 300ms budget", time.Since(start))
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen) < 2 || seen[0].Try != 1 || seen[0].Err == nil {
				t.Errorf("retries seen %+v; want each", seen)
			}
		})
	}
}

// TestPullStalledLink pulls through a link that stops sending, without
// closing, every connection after at most 1 MiB: each try ends once it
// received nothing for the idle timeout and the next resumes.
func TestPullStalledLink(t *testing.T) {
	src, ls := registrytest.Store(t, []string{"base", "big"}, 3<<20)
	p, err := faultproxy.New(registrytest.Serve(t, src), 7, faultproxy.Faults{CutMin: 512 << 10, CutMax: 1 << 20, Stall: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, _, err = remote.Pull(ctx, p.Addr()+"/test:big", out, remote.WithRetries(3, 5*time.Millisecond), remote.WithIdleTimeout(2*time.Second))
	if err != nil {
		t.Fatalf("pull through the stalling link: %v (proxy %+v)", err, p.Stats())
	}
	registrytest.SameFile(t, ls[1].Path, filepath.Join(out, ls[1].Meta.File))
	if st := p.Stats(); st.Cuts == 0 {
		t.Errorf("the proxy stalled no connection (%+v)", st)
	}
}
