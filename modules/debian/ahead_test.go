package debian

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAptRunAhead: the download ahead starts after the module's own
// download, runs while its install runs (the install below waits for it to
// start, and fails if it never does), resolves the module's packages with
// the first next set against a copy of the root's dpkg status taken before
// dpkg ran, is cut when the install ends (the second set is never
// started), fails no build, and leaves no status copy: its own is removed
// and a killed build's (a dead pid's) swept.
func TestAptRunAhead(t *testing.T) {
	cache, root := t.TempDir(), testRoot(t)
	os.MkdirAll(filepath.Join(root, "var/lib/dpkg"), 0o755)
	if err := os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), []byte("Package: before\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(cache, aheadDir, "status-4194305-123")
	os.MkdirAll(filepath.Dir(stale), 0o755)
	os.WriteFile(stale, nil, 0o644)

	var mu sync.Mutex
	var calls []string
	started := make(chan struct{})
	run := func(ctx context.Context, argv ...string) error {
		mu.Lock()
		for _, word := range []string{"update", "--download-only", "--no-download"} {
			if slices.Contains(argv, word) {
				calls = append(calls, "run "+word)
			}
		}
		mu.Unlock()
		if !slices.Contains(argv, "--no-download") {
			return nil
		}
		// dpkg changes the status: the copy must not follow.
		os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), []byte("Package: after\n"), 0o644)
		select {
		case <-started:
			return nil
		case <-time.After(2 * time.Minute):
			return errors.New("the download ahead never started while the install ran")
		}
	}
	var aheads [][]string
	var statusSeen string
	quiet := func(ctx context.Context, argv ...string) error {
		mu.Lock()
		aheads = append(aheads, argv)
		mu.Unlock()
		for _, a := range argv {
			if p, ok := strings.CutPrefix(a, "Dir::State::status="+ChrootCache+"/"); ok {
				data, _ := os.ReadFile(filepath.Join(cache, p))
				statusSeen = string(data)
			}
		}
		close(started)
		<-ctx.Done() // a long download, cut when the install ends
		return ctx.Err()
	}
	a := &Apt{Cache: cache, Retry: Retry{Attempts: 1}}
	next := [][]string{{"htop", "less"}, {"postfix"}}
	if err := a.RunAhead(context.Background(), root, nil, []string{"less", "vim"}, next, run, quiet); err != nil {
		t.Fatal(err)
	}
	if len(aheads) != 1 {
		t.Fatalf("%d downloads ahead, want 1 (the second set after the install ended): %q", len(aheads), aheads)
	}
	argv := strings.Join(aheads[0], " ")
	for _, want := range []string{"Debug::NoLocking=true", "install --no-install-recommends --download-only -- less vim htop"} {
		if !strings.Contains(argv, want) {
			t.Errorf("the download ahead lacks %q: %s", want, argv)
		}
	}
	if statusSeen != "Package: before\n" {
		t.Errorf("the download ahead resolved against the status %q, want the one before dpkg ran", statusSeen)
	}
	if left, _ := os.ReadDir(filepath.Join(cache, aheadDir)); len(left) > 0 {
		t.Errorf("status copies left in the cache: %v", left)
	}
	if want := []string{"run update", "run --download-only", "run --no-download"}; !slices.Equal(calls, want) {
		t.Errorf("apt-get calls %q, want %q", calls, want)
	}

	// Without next sets, or without packages of its own, nothing ahead.
	aheads = nil
	started = make(chan struct{})
	close(started)
	if err := a.RunAhead(context.Background(), root, []string{"x"}, nil, next, run, quiet); err != nil {
		t.Fatal(err)
	}
	if err := a.RunAhead(context.Background(), root, nil, []string{"less"}, nil, run, quiet); err != nil {
		t.Fatal(err)
	}
	if len(aheads) != 0 {
		t.Errorf("downloads ahead with nothing to do: %q", aheads)
	}
}

// TestAptRunAheadGivesWay: a sibling's own download does not wait for a
// download ahead: A's download ahead holds the cache lock (a long
// download) while A's install runs, and A's install waits for B's whole
// Run, download included, which it could never see if B waited for the
// lock (the test then fails after the outer timeout, never hangs).
func TestAptRunAheadGivesWay(t *testing.T) {
	cache := t.TempDir()
	rootA, rootB := testRoot(t), testRoot(t)
	os.MkdirAll(filepath.Join(rootA, "var/lib/dpkg"), 0o755)
	os.WriteFile(filepath.Join(rootA, "var/lib/dpkg/status"), nil, 0o644)
	a := &Apt{Cache: cache, Retry: Retry{Attempts: 1}}
	aheadHolds, bDone := make(chan struct{}), make(chan error, 1)
	runA := func(ctx context.Context, argv ...string) error {
		if !slices.Contains(argv, "--no-download") {
			return nil
		}
		select {
		case <-aheadHolds:
		case <-time.After(2 * time.Minute):
			return errors.New("the download ahead never started")
		}
		go func() {
			bDone <- a.Run(ctx, rootB, nil, []string{"htop"}, func(context.Context, ...string) error { return nil })
		}()
		select {
		case err := <-bDone:
			return err
		case <-time.After(2 * time.Minute):
			return errors.New("B's Run did not end while A's install ran: it waited for A's download ahead")
		}
	}
	quiet := func(ctx context.Context, argv ...string) error {
		close(aheadHolds)
		<-ctx.Done()
		return ctx.Err()
	}
	if err := a.RunAhead(context.Background(), rootA, nil, []string{"less"}, [][]string{{"vim"}}, runA, quiet); err != nil {
		t.Fatal(err)
	}
}
