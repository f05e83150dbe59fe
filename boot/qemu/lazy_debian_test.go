package qemu_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/layers"
)

// TestBootLazyDebianConsole netboots examples/debian's console chain with
// mode.lazy=on to its marker: the init says what it fetched before
// switch_root, which must be under a quarter of the chain (2 % measured:
// docs/bench.md, "Lazy boot"). About 2-3 minutes under TCG: in make test-lazy.
func TestBootLazyDebianConsole(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresQEMU(t)
	dir := filepath.Join(testutil.RepoRoot(t), ".cache", "e2e", "debian")
	out, store := filepath.Join(dir, "out"), filepath.Join(dir, "store")
	testutil.BuildExample(t, "debian", out, store, "console")
	var chain int64
	for _, f := range []string{"base", "base-essential", "base-essential-console"} {
		fi, err := os.Stat(filepath.Join(out, f+".sqfs"))
		if err != nil {
			t.Fatal(err)
		}
		chain += fi.Size()
	}
	reg := newLazyRegistry(t, store)
	var atSwitch atomic.Int64
	hook := &consoleHook{text: "fetched before switch_root", f: func() { atSwitch.Store(reg.sent.Load()) }}
	k, initrd := testutil.Kernel(t), testutil.Initramfs(t)
	m := qemu.Machine{Kernel: k.Vmlinuz, Initrd: initrd, MemoryMiB: 768, Network: true,
		Append: "mode.ref=" + reg.addr() + "/debian:console mode.insecure mode.lazy=on"}
	res, err := qemu.Run(context.Background(), m, qemu.Watch{Expect: "MODE-CONSOLE-READY",
		Fail: []string{"mode-init: FAILED"}, Timeout: 10 * time.Minute, Console: hook})
	if err != nil {
		t.Fatal(err)
	}
	logLines(t, res.Console, "mode-init: mapped", "lazy:", "at switch_root")
	got := regexp.MustCompile(`lazy: ([0-9.]+) (B|KiB|MiB) of the chain's .* fetched before switch_root`).FindStringSubmatch(res.Console)
	if got == nil {
		t.Fatal("the lazy boot does not say what it fetched before switch_root")
	}
	v, _ := strconv.ParseFloat(got[1], 64)
	before := int64(v * map[string]float64{"B": 1, "KiB": 1 << 10, "MiB": 1 << 20}[got[2]])
	if before <= 0 || before > chain/4 {
		t.Errorf("the boot fetched %s of the %s chain before switch_root: not under a quarter", layers.Size(before), layers.Size(chain))
	}
	// The hook runs when the line reaches the console: the registry may
	// have sent a little more by then (the first reads after switch_root).
	t.Logf("fetched before switch_root: %s of %s (%.1f%%); the registry had sent %s by that line; MODE-CONSOLE-READY after %.1fs",
		layers.Size(before), layers.Size(chain), 100*float64(before)/float64(chain), layers.Size(atSwitch.Load()), res.Elapsed.Seconds())
}
