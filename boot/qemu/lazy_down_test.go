package qemu_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
)

// TestBootLazyRegistryDown boots examples/tiny with mode.lazy=on from a
// slow registry (each blob request held 2 s: the background fill takes a
// minute), then stops the registry before the fill ends: every request's
// connection is closed unanswered. The guest then reads every file of its
// root: the reads of chunks not local yet must wait (the lazy server
// retries), not fail, and complete once the registry is back, 15 s later.
// About 2 minutes under TCG: in make test-lazy, not make test.
func TestBootLazyRegistryDown(t *testing.T) {
	testutil.RequiresRoot(t)
	dir := filepath.Join(t.TempDir(), "store")
	testutil.BuildTiny(t, filepath.Join(t.TempDir(), "out"), dir)
	reg := newLazyRegistry(t, dir)
	reg.delay = 2 * time.Second // the fill's ~10 chunks take 20 s or more
	script := scriptDisk(t, `
grep -q '"whole": true' /run/mode/lazy.json && echo LAZY-ALREADY-WHOLE
echo LAZY-STOP-REGISTRY
i=0; while wget -q -O /dev/null -T 3 http://`+reg.addr()+`/v2/; do sleep 1; i=$((i+1)); [ $i -gt 120 ] && break; done
echo LAZY-READING
if find / -xdev -type f -exec cat {} + >/dev/null 2>/tmp/err; then echo LAZY-READ-OK; else cat /tmp/err; echo LAZY-READ-FAIL; fi
`)
	var resumed, readWhileDown atomic.Bool
	var refusedBeforeResume atomic.Int64
	readOK := &consoleHook{text: "LAZY-READ-OK", f: func() {}}
	hooks := &multiHook{hooks: []*consoleHook{readOK,
		{text: "LAZY-STOP-REGISTRY", f: func() { reg.down.Store(true) }},
		// The guest reads every file while the registry is down: the
		// reads of chunks not local yet must wait, not fail; 15 s
		// later the registry comes back and they must complete.
		{text: "LAZY-READING", f: func() {
			time.Sleep(15 * time.Second)
			readOK.mu.Lock()
			readWhileDown.Store(readOK.done)
			readOK.mu.Unlock()
			refusedBeforeResume.Store(reg.refused.Load())
			resumed.Store(true)
			reg.down.Store(false)
		}},
	}}
	m := netMachine(t, "mode.ref="+reg.addr()+"/tiny:extra mode.insecure mode.lazy=on tiny.run=/dev/vda", script)
	res, err := qemu.Run(context.Background(), m, qemu.Watch{Expect: "LAZY-READ-OK", Line: true,
		Fail: []string{"LAZY-READ-FAIL", "LAZY-ALREADY-WHOLE", "MODE-TINY-FAIL", "mode-init: FAILED"}, Timeout: 6 * time.Minute, Console: hooks})
	if err != nil {
		t.Fatal(err)
	}
	logLines(t, res.Console, "before switch_root", "lazy:", "LAZY-")
	if !resumed.Load() || readWhileDown.Load() {
		t.Errorf("the guest read every file while the registry was down: nothing was left to fetch (the fill was done)")
	}
	if refusedBeforeResume.Load() == 0 {
		t.Errorf("no request reached the registry while it was down")
	}
	t.Logf("%d requests refused while the registry was down; LAZY-READ-OK after %.1fs", refusedBeforeResume.Load(), res.Elapsed.Seconds())
}
