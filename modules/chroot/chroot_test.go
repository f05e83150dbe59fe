package chroot

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/testutil"
)

// These tests need root: they make namespaces and mounts (we are root here).
func newRoot(t *testing.T) string {
	t.Helper()
	testutil.RequiresRoot(t)
	root := t.TempDir()
	testutil.BusyboxRoot(t, root)
	return root
}

func TestRunSeesItsOwnRoot(t *testing.T) {
	root := newRoot(t)
	var out bytes.Buffer
	err := Run(context.Background(), root, Options{Stdout: &out, Stderr: &out, Env: []string{"X=42"}},
		"/bin/sh", "-c", "echo init=$(cat /proc/1/cmdline) x=$X; ls /dev/null /dev/pts/ptmx >/dev/null && echo dev; test -x /usr/sbin/policy-rc.d && /usr/sbin/policy-rc.d; echo rc=$?; hostname; cat /etc/resolv.conf >/dev/null && echo resolv")
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	for _, want := range []string{"init=mode-chroot x=42", "dev", "rc=101", "mode", "resolv"} {
		if !strings.Contains(out.String(), want+"\n") {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// The placeholders Run created are gone, and nothing stays mounted.
	for _, p := range []string{"usr/sbin/policy-rc.d", "etc/resolv.conf"} {
		if _, err := os.Lstat(filepath.Join(root, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left in the root: %v", p, err)
		}
	}
	testutil.NoLeaks(t, root)
}

func TestRunFailingCommand(t *testing.T) {
	root := newRoot(t)
	err := Run(context.Background(), root, Options{}, "/bin/sh", "-c", "exit 7")
	var exit *ExitError
	if !errors.As(err, &exit) || exit.Code != 7 {
		t.Fatalf("err = %v, want exit status 7", err)
	}
	testutil.NoLeaks(t, root)
}

func TestRunMissingCommand(t *testing.T) {
	root := newRoot(t)
	err := Run(context.Background(), root, Options{}, "/no/such/tool")
	if err == nil || !strings.Contains(err.Error(), "/no/such/tool") {
		t.Fatalf("err = %v, want one naming /no/such/tool", err)
	}
	testutil.NoLeaks(t, root)
}

func TestRunBinds(t *testing.T) {
	root := newRoot(t)
	shared := t.TempDir()
	os.WriteFile(filepath.Join(shared, "in"), []byte("from host\n"), 0o644)
	var out bytes.Buffer
	err := Run(context.Background(), root, Options{Stdout: &out, Binds: []Bind{{Source: shared, Target: "/var/cache/shared"}}},
		"/bin/sh", "-c", "cat /var/cache/shared/in; echo new > /var/cache/shared/out")
	if err != nil || out.String() != "from host\n" {
		t.Fatalf("Run: %v, output %q", err, out.String())
	}
	if b, _ := os.ReadFile(filepath.Join(shared, "out")); string(b) != "new\n" {
		t.Errorf("write through the bind: %q", b)
	}
	testutil.NoLeaks(t, root)
}

// A cancelled context (SIGINT in the CLI) ends the command, every process it
// started, and every mount, at once.
func TestRunCancelled(t *testing.T) {
	root := newRoot(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Cancel once the command runs (it says so by a file in the root), not
	// after a fixed time: a loaded machine may take long to start it.
	started := filepath.Join(root, "tmp", "started")
	var start time.Time
	go func() {
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if _, err := os.Stat(started); err == nil {
				break
			}
		}
		start = time.Now()
		cancel()
	}()
	err := Run(ctx, root, Options{}, "/bin/sh", "-c", "sleep 100 & touch /tmp/started; sleep 100")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the context's", err)
	}
	if _, serr := os.Stat(started); serr != nil {
		t.Fatalf("cancelled before the command ran: %v", serr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancel took %v", d)
	}
	testutil.NoLeaks(t, root)
	if pids := sleepers(t); len(pids) > 0 {
		t.Errorf("processes left: %v", pids)
	}
}

// sleepers lists processes running "sleep 100".
func sleepers(t *testing.T) []string {
	entries, _ := os.ReadDir("/proc")
	var found []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && string(b) == "sleep\x00100\x00" {
			found = append(found, e.Name())
		}
	}
	return found
}
