package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/store"
)

func TestWatchInitFailure(t *testing.T) {
	for _, tc := range []struct {
		expect string
		fail   bool
	}{{"MODE-TINY-OK", true}, {"", false}, {"(mode rescue) # ", false}, {"mode-init: FAILED at fetch", false}} {
		w := qemu.Watch{Expect: tc.expect}
		watchInitFailure(&w)
		if got := len(w.Fail) == 1 && w.Fail[0] == initFailed; got != tc.fail {
			t.Errorf("--expect %q: Fail %q; want the init's failure watched: %v", tc.expect, w.Fail, tc.fail)
		}
	}
	res := &qemu.Result{Matched: initFailed, Elapsed: 3 * time.Second,
		Console: "boot\r\nmode-init: FAILED at fetch: mode.ref=x: MANIFEST_UNKNOWN\r\nmode-init: rescue shell\r\n"}
	err := initFailure(res, fmt.Errorf("qemu: %w: %q", qemu.ErrFailed, initFailed))
	if want := "boot: mode-init: FAILED at fetch: mode.ref=x: MANIFEST_UNKNOWN (after 3.0s)"; err == nil || err.Error() != want {
		t.Errorf("initFailure: %v; want %s", err, want)
	}
	other := fmt.Errorf("qemu: %w", qemu.ErrTimeout)
	if err := initFailure(&qemu.Result{}, other); err != other {
		t.Errorf("initFailure of a timeout: %v", err)
	}
}

// TestBootExpectInitFailure: mode boot --expect of a chain the registry
// does not have ends as soon as the init fails, with its failure line and a
// non-zero exit, not after --timeout.
func TestBootExpectInitFailure(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresQEMU(t)
	kern, initrd := testutil.Kernel(t).Vmlinuz, testutil.Initramfs(t)
	s, err := store.Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	host := registrytest.Serve(t, s)
	cmd := modeCmd("boot", host+"/tiny:nosuch", "--expect", "MODE-TINY-OK", "--timeout", "10m",
		"--kernel", kern, "--initrd", initrd, "--memory", "384")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	failedAt := make(chan time.Time, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), initFailed) {
				failedAt <- time.Now()
				break
			}
		}
		io.Copy(io.Discard, out)
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(5 * time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("mode boot still runs after 5 minutes; stderr:\n%s", stderr.String())
	}
	end := time.Now()
	var exit interface{ ExitCode() int }
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("mode boot of a missing chain: %v; want a non-zero exit; stderr:\n%s", err, stderr.String())
	}
	want := "boot: mode-init: FAILED at fetch: mode.ref=10.0.2.2:"
	if !strings.Contains(stderr.String(), want) || !strings.Contains(stderr.String(), "/tiny:nosuch: ") {
		t.Errorf("stderr lacks %q naming tiny:nosuch:\n%s", want, stderr.String())
	}
	select {
	case at := <-failedAt:
		if d := end.Sub(at); d > 30*time.Second {
			t.Errorf("mode boot ended %s after the init failed", d)
		}
		t.Logf("the init failed %s after the start; mode boot ended %s later", at.Sub(start).Round(time.Millisecond), end.Sub(at).Round(time.Millisecond))
	default:
		t.Errorf("the console never showed %q", initFailed)
	}
}
