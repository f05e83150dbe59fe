package remote_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/store"
	"golang.org/x/sys/unix"
)

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
