package pxe

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mode-build/mode/internal/testutil"
)

// serveInLAN runs `mode -v serve --store storeDir --addr 10.232.0.1:5000
// --pxe br0 ARGS…` in the lan namespace (siteLAN) until the test ends, and
// returns its log once it printed its URL.
func serveInLAN(t *testing.T, lan, storeDir string, args ...string) *syncBuffer {
	t.Helper()
	bins := testutil.Binaries(t)
	cmd := exec.Command("ip", append([]string{"netns", "exec", lan, filepath.Join(bins, "mode"), "-v", "serve", "--store", storeDir,
		"--addr", "10.232.0.1:5000", "--pxe", "br0"}, args...)...)
	logs := &syncBuffer{}
	cmd.Stderr = logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatalf("mode serve printed no URL: %v\n%s", err, logs.String())
	}
	return logs
}

// qemuInLAN is a QEMU binary for qemu.Machine.Binary that runs in the lan
// namespace, where its tap0 is.
func qemuInLAN(t *testing.T, lan string) string {
	t.Helper()
	wrapper := filepath.Join(t.TempDir(), "qemu-in-netns")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\nexec ip netns exec "+lan+" qemu-system-x86_64 \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return wrapper
}
