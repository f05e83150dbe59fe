package qemu_test

import (
	"context"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/faultproxy"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// TestBootRegistryComesBack boots tiny from a registry that refuses every
// connection for 20 s from the init's first try and then comes back: the init
// keeps trying (showing each retry on the console) and boots.
func TestBootRegistryComesBack(t *testing.T) {
	testutil.RequiresRoot(t)
	m := machine(t, "") // the kernel and initramfs before the clock starts
	dir := filepath.Join(t.TempDir(), "store")
	testutil.BuildTiny(t, filepath.Join(t.TempDir(), "out"), dir)
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(serve.New(s).Handler())
	t.Cleanup(srv.Close)
	p, err := faultproxy.New(srv.Listener.Addr().String(), 1, faultproxy.Faults{Down: true, Reset: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	_, port, _ := net.SplitHostPort(p.Addr())
	m.Network = true
	m.Append = "mode.ref=10.0.2.2:" + port + "/tiny:extra mode.insecure"
	// The registry comes back 20 s after the init's first try (the kernel
	// alone may take 20 s to boot under TCG).
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for p.Stats().Refused == 0 {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
		select {
		case <-stop:
		case <-time.After(20 * time.Second):
			p.Set(faultproxy.Faults{})
		}
	}()
	res, err := qemu.Run(context.Background(), m, qemu.Watch{
		Expect: "MODE-TINY-OK", Fail: []string{"MODE-TINY-FAIL", "mode-init: FAILED"}, Timeout: 4 * time.Minute,
	})
	if err != nil {
		t.Fatalf("%v (proxy %+v)", err, p.Stats())
	}
	want := "mode-init: fetch: connect to 10.0.2.2:" + port + " failed ("
	if !strings.Contains(res.Console, want) || !strings.Contains(res.Console, "of mode.fetch.timeout=5m0s left") {
		t.Errorf("the console does not show the retries (%q):\n%s", want, res.Console)
	}
	for _, l := range strings.Split(res.Console, "\n") {
		if strings.HasPrefix(l, "mode-init: fetch:") || strings.HasPrefix(l, "mode-init: pulled") {
			t.Log(strings.TrimSpace(l))
		}
	}
	if st := p.Stats(); st.Refused == 0 {
		t.Errorf("the proxy refused no connection (%+v): the boot never met the registry down", st)
	}
	t.Logf("booted %.1fs after QEMU started, the registry down for 20s from the init's first try (%d connections refused)", res.Elapsed.Seconds(), p.Stats().Refused)
}
