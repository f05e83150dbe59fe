package remote_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/faultproxy"
	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/store"
	"golang.org/x/sys/unix"
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

// TestPullFullDisk: a pull onto a full file system fails at once, naming
// the file it could not write, without retrying, and leaves the store with
// no part of the chain.
func TestPullFullDisk(t *testing.T) {
	testutil.RequiresRoot(t)
	src, ls := registrytest.Store(t, []string{"base", "big"}, 4<<20)
	host := registrytest.Serve(t, src)
	for _, tc := range []struct {
		name string
		out  bool // --out on the full disk; else a store-only pull (its .tmp on it)
	}{{"out dir", true}, {"store only", false}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
			s, err := store.Open(filepath.Join(dir, "store"))
			if err != nil {
				t.Fatal(err)
			}
			out := ""
			if tc.out {
				out = filepath.Join(dir, "out")
			}
			start := time.Now()
			_, _, err = remote.Pull(context.Background(), host+"/test:big", out, remote.WithStore(s), remote.WithRetries(5, 500*time.Millisecond))
			took := time.Since(start)
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("pull onto a full disk: %v; want ENOSPC", err)
			}
			if !strings.Contains(err.Error(), "layer ") || !strings.Contains(err.Error(), "write "+dir) || strings.Contains(err.Error(), "giving up") {
				t.Errorf("error %q: want the layer and the file written named, no retries", err)
			}
			if took > 20*time.Second {
				t.Errorf("failing took %s: retried?", took)
			}
			storeEmpty(t, s)
			if _, err := os.Stat(filepath.Join(out, ls[1].Meta.File)); out != "" && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the layer is in the out directory: %v", err)
			}
		})
	}
}
