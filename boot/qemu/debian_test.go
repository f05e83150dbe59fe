package qemu_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
)

// TestBootDebianConsole builds examples/debian's console chain with mode build
// (into .cache/e2e/debian, so a second run rebuilds nothing) and boots it from
// mode's registry server: systemd reaches multi-user and prints
// MODE-CONSOLE-READY, and sshd answers on the forwarded port. Needs root,
// QEMU and Debian's archive (mmdebstrap); takes minutes the first time.
func TestBootDebianConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Debian chain: not with -short")
	}
	testutil.RequiresRoot(t)
	dir := filepath.Join(testutil.RepoRoot(t), ".cache", "e2e", "debian")
	store := filepath.Join(dir, "store")
	testutil.BuildExample(t, "debian", filepath.Join(dir, "out"), store, "console")
	reg := serveStore(t, store)
	port := freePort(t)
	m := netMachine(t, "mode.ref="+reg+"/debian:console mode.insecure")
	m.MemoryMiB = 1024
	m.Forward = []string{fmt.Sprintf("tcp:127.0.0.1:%d-:22", port)}
	var banner string
	res, err := qemu.Run(context.Background(), m, qemu.Watch{
		Expect: "MODE-CONSOLE-READY", Fail: []string{"mode-init: FAILED"}, Timeout: 6 * time.Minute,
		Then: func() error {
			var err error
			banner, err = sshBanner(fmt.Sprintf("127.0.0.1:%d", port), time.Minute)
			return err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(banner, "SSH-2.0-OpenSSH") {
		t.Errorf("port 22 answered %q, want an OpenSSH banner", banner)
	}
	if !strings.Contains(res.Console, "mode-init: switching root to /sbin/init") {
		t.Errorf("console lacks the switch to systemd:\n%s", res.Console)
	}
	t.Logf("MODE-CONSOLE-READY after %.1fs; sshd: %s", res.Elapsed.Seconds(), banner)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// sshBanner reads the first line an SSH server at addr sends, retrying until d.
func sshBanner(addr string, d time.Duration) (string, error) {
	deadline := time.Now().Add(d)
	var last error
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err == nil {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			line, rerr := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if rerr == nil {
				return strings.TrimSpace(line), nil
			}
			err = rerr
		}
		last = err
		time.Sleep(2 * time.Second)
	}
	return "", fmt.Errorf("no SSH banner from %s: %v", addr, last)
}
