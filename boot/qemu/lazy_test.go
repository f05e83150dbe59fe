package qemu_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// lazyRegistry serves a store for the lazy boot tests: it counts the bytes
// of blobs it sends, ignores Range when noRange, and serves blob corrupt
// with one byte changed (a block of the layer changed after the config).
type lazyRegistry struct {
	srv     *httptest.Server
	sent    atomic.Int64
	noRange bool
	// delay holds each blob request this long (a slow link: the
	// background fill takes seconds); while down, every request's
	// connection is closed unanswered (a registry gone), counted in refused.
	delay   time.Duration
	down    atomic.Bool
	refused atomic.Int64
	corrupt string   // a blob digest
	bad     []byte   // what is served for it
	asked   sync.Map // the blob digests asked for (GET or HEAD)
	whole   sync.Map // the blob digests asked for whole (a GET without Range)
}

func newLazyRegistry(t testing.TB, dir string, opts ...serve.Option) *lazyRegistry {
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	inner := serve.New(s, opts...).Handler()
	r := &lazyRegistry{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.Contains(req.URL.Path, "/blobs/") && r.delay > 0 {
			time.Sleep(r.delay)
		}
		if r.down.Load() {
			r.refused.Add(1)
			if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
				c.Close()
			}
			return
		}
		if !strings.Contains(req.URL.Path, "/blobs/") {
			inner.ServeHTTP(w, req)
			return
		}
		r.asked.Store(path.Base(req.URL.Path), true)
		if req.Method == http.MethodGet && req.Header.Get("Range") == "" {
			r.whole.Store(path.Base(req.URL.Path), true)
		}
		if r.noRange {
			req.Header.Del("Range")
		}
		cw := &countWriter{ResponseWriter: w, n: &r.sent}
		if r.corrupt != "" && strings.HasSuffix(req.URL.Path, "/blobs/"+r.corrupt) {
			http.ServeContent(cw, req, "", time.Time{}, bytes.NewReader(r.bad))
			return
		}
		inner.ServeHTTP(cw, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *lazyRegistry) addr() string {
	u, _ := url.Parse(r.srv.URL)
	return "10.0.2.2:" + u.Port()
}

type countWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// consoleHook calls f once with the console so far when text appears.
type consoleHook struct {
	mu   sync.Mutex
	buf  strings.Builder
	text string
	f    func()
	done bool
}

func (h *consoleHook) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf.Write(p)
	if !h.done && strings.Contains(h.buf.String(), h.text) {
		h.done = true
		go h.f()
	}
	return len(p), nil
}

// TestBootLazy boots examples/tiny with mode.lazy=on (docs/boot.md, "Lazy
// boot"): its layers read from the registry on demand through NBD and
// dm-verity; the console says how much was fetched before switch_root;
// once the background fill says every layer is local the registry is
// stopped and the guest still reads every file of its root. A registry that
// serves a changed block gets the boot stopped by dm-verity; one that
// ignores Range gets the layers downloaded whole, and the console says so.
// With mode.cache the layers are filled into the cache disk.
func TestBootLazy(t *testing.T) {
	testutil.RequiresRoot(t)
	dir := filepath.Join(t.TempDir(), "store")
	out := filepath.Join(t.TempDir(), "out")
	testutil.BuildTiny(t, out, dir)

	t.Run("lazy", func(t *testing.T) {
		reg := newLazyRegistry(t, dir)
		script := scriptDisk(t, `
i=0; while ! grep -q '"whole": true' /run/mode/lazy.json; do sleep 1; i=$((i+1)); [ $i -gt 180 ] && break; done
grep -q '"whole": true' /run/mode/lazy.json && echo LAZY-WHOLE
i=0; while wget -q -O /dev/null -T 3 http://`+reg.addr()+`/v2/; do sleep 1; i=$((i+1)); [ $i -gt 120 ] && break; done
echo REGISTRY-GONE
if find / -xdev -type f -exec cat {} + >/dev/null 2>/tmp/err; then echo LAZY-READ-OK; else cat /tmp/err; echo LAZY-READ-FAIL; fi
`)
		var atSwitch int64
		hooks := &multiHook{hooks: []*consoleHook{
			{text: "as overlay on /newroot", f: func() { atomic.StoreInt64(&atSwitch, reg.sent.Load()) }},
			{text: "LAZY-WHOLE", f: reg.srv.Close},
		}}
		m := netMachine(t, "mode.ref="+reg.addr()+"/tiny:extra mode.insecure mode.lazy=on tiny.run=/dev/vda", script)
		res, err := qemu.Run(context.Background(), m, qemu.Watch{Expect: "LAZY-READ-OK", Line: true,
			Fail: []string{"LAZY-READ-FAIL", "MODE-TINY-FAIL", "mode-init: FAILED"}, Timeout: 5 * time.Minute, Console: hooks})
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"mode-init: mapped 4 layers", "fetched before switch_root", "the registry is no longer needed", "MODE-TINY-OK", "REGISTRY-GONE"} {
			if !strings.Contains(res.Console, want) {
				t.Errorf("the console lacks %q", want)
			}
		}
		logLines(t, res.Console, "mode-init: mapped", "before switch_root", "lazy:", "at switch_root")
		t.Logf("the registry sent %s of blobs by the mount of the layers, before the background fill starts (chain %s); LAZY-READ-OK after %.1fs",
			layers.Size(atomic.LoadInt64(&atSwitch)), layers.Size(chainSize(t, out)), res.Elapsed.Seconds())
	})

	// mode.cache: the layers are filled into the cache disk, each renamed
	// to its layer's name once whole and checked; a second boot from the
	// disk finds every layer there (mode.lazy=on says so) and pulls none:
	// the pull checks their digests.
	t.Run("cache", func(t *testing.T) {
		reg := newLazyRegistry(t, dir)
		cache := filepath.Join(t.TempDir(), "cache.img")
		if err := qemu.EmptyDisk(context.Background(), cache, 64); err != nil {
			t.Fatal(err)
		}
		args := "mode.ref=" + reg.addr() + "/tiny:extra mode.insecure mode.lazy=on mode.cache=/dev/vda"
		res, err := qemu.Run(context.Background(), netMachine(t, args, qemu.Disk{File: cache}), qemu.Watch{
			Expect: "the registry is no longer needed", Fail: []string{"mode-init: FAILED", "MODE-TINY-FAIL"}, Timeout: 5 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		logLines(t, res.Console, "mode-init: mapped", "lazy:")
		if !strings.Contains(res.Console, "filled in the background into mode.cache)") {
			t.Errorf("the first boot does not say the layers are filled into mode.cache")
		}
		t.Logf("first boot: the layers local after %.1fs", res.Elapsed.Seconds())
		res = bootFor(t, netMachine(t, args, qemu.Disk{File: cache}), "MODE-TINY-OK", 4*time.Minute, "MODE-TINY-FAIL")
		logLines(t, res.Console, "mode.lazy", "mode-init: pulled")
		for _, want := range []string{"mode.lazy=on: every layer is in mode.cache already", "mode-init: pulled 0 layers, 0 B (4 already cached)"} {
			if !strings.Contains(res.Console, want) {
				t.Errorf("the second boot's console lacks %q", want)
			}
		}
	})

	t.Run("changed block", func(t *testing.T) {
		reg := newLazyRegistry(t, dir)
		top := filepath.Join(out, "base-essential-console-extra.sqfs")
		d, _, err := layers.FileDigest(top)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(top)
		if err != nil {
			t.Fatal(err)
		}
		data[100] ^= 0xff // in the squashfs superblock's block: read by the mount
		reg.corrupt, reg.bad = d, data
		m := netMachine(t, "mode.ref="+reg.addr()+"/tiny:extra mode.insecure mode.lazy=on")
		res, err := qemu.Run(context.Background(), m, qemu.Watch{Expect: "mode-init: rescue shell (", Fail: []string{"MODE-TINY-OK"}, Timeout: 4 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		logLines(t, res.Console, "FAILED")
		if !strings.Contains(res.Console, "FAILED at mount layers: layer base-essential-console-extra.sqfs: dm-verity refused a block as it was read (the registry's blob changed") {
			t.Errorf("the console does not name the layer and the cause")
		}
	})

	t.Run("no range", func(t *testing.T) {
		reg := newLazyRegistry(t, dir)
		reg.noRange = true
		m := netMachine(t, "mode.ref="+reg.addr()+"/tiny:extra mode.insecure mode.lazy=on")
		res := bootFor(t, m, "MODE-TINY-OK", 4*time.Minute, "MODE-TINY-FAIL")
		logLines(t, res.Console, "mode.lazy", "pulled")
		if !strings.Contains(res.Console, "ignores HTTP Range: downloading the layers whole") || !strings.Contains(res.Console, "mode-init: pulled 4 layers") {
			t.Errorf("the console does not say the layers were downloaded whole for want of Range")
		}
	})

	// lazy_more_test.go: a signed chain with mode.toram, mode.noload,
	// mode save and activate refused; mode activate on an unsigned lazy boot.
	t.Run("signed", func(t *testing.T) { lazySigned(t, dir) })
	t.Run("activate", func(t *testing.T) { lazyActivate(t, dir) })
}

// multiHook sends the console to each hook.
type multiHook struct{ hooks []*consoleHook }

func (m *multiHook) Write(p []byte) (int, error) {
	for _, h := range m.hooks {
		h.Write(p)
	}
	return len(p), nil
}

// chainSize is the bytes of the tiny chain's layers in out.
func chainSize(t *testing.T, out string) int64 {
	var n int64
	for _, f := range []string{"base", "base-essential", "base-essential-console", "base-essential-console-extra"} {
		fi, err := os.Stat(filepath.Join(out, f+".sqfs"))
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}
