package qemu_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// TestBootMirrorKilled boots examples/tiny with mode.mirrors naming the CNCF
// distribution registry in proxy mode (a pull-through cache) in front of
// mode serve's registry; the proxy is killed while it streams the largest
// layer, and the guest finishes the pull from mode serve and boots.
func TestBootMirrorKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU (root, TCG): not with -short")
	}
	testutil.RequiresRoot(t)
	storeDir := filepath.Join(t.TempDir(), "store")
	testutil.BuildTiny(t, filepath.Join(t.TempDir(), "out"), storeDir)
	s, err := store.Open(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	_, m, _, err := s.Chain("tiny", "extra")
	if err != nil {
		t.Fatal(err)
	}
	largest := m.Layers[0]
	for _, l := range m.Layers {
		if l.Size > largest.Size {
			largest = l
		}
	}
	stalled, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	gets := 0
	h := serve.New(s).Handler()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+string(largest.Digest)) {
			mu.Lock()
			gets++
			mu.Unlock()
			once.Do(func() {
				w = &registrytest.StallWriter{ResponseWriter: w, After: int(largest.Size / 3), Stalled: stalled, Release: release}
			})
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(origin.Close)
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	u, _ := url.Parse(origin.URL)
	proxy, kill := registrytest.DistributionProxy(t, u.Host)
	_, proxyPort, _ := strings.Cut(proxy, ":")
	killed := make(chan bool, 1)
	go func() {
		select {
		case <-stalled: // the proxy is streaming the layer from mode serve
			kill()
			releaseOnce.Do(func() { close(release) })
			killed <- true
		case <-time.After(4 * time.Minute):
			killed <- false
		}
	}()

	args := "mode.ref=10.0.2.2:" + u.Port() + "/tiny:extra mode.insecure mode.mirrors=10.0.2.2:" + proxyPort
	res, err := qemu.Run(context.Background(), netMachine(t, args), qemu.Watch{
		Expect: "MODE-TINY-OK", Fail: []string{"MODE-TINY-FAIL", "mode-init: FAILED"}, Timeout: 3 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !<-killed {
		t.Fatalf("the proxy never fetched the layer from mode serve:\n%s", res.Console)
	}
	if !strings.Contains(res.Console, "mode-init: pulled 4 layers") {
		t.Errorf("console lacks the pull:\n%s", res.Console)
	}
	mu.Lock()
	defer mu.Unlock()
	if gets < 2 { // the proxy's, cut, then the guest's own
		t.Errorf("mode serve had %d GETs of the layer; want the proxy's and then the guest's", gets)
	}
}
