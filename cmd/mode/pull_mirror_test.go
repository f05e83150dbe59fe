package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/registry/serve"
)

// TestPullMirrorKilled: mode pull --mirror through the CNCF distribution
// registry in proxy mode (a pull-through cache) in front of mode serve's
// registry; the proxy is killed in the middle of the big layer, and the pull
// completes from mode serve, with the chain the proxy resolved.
func TestPullMirrorKilled(t *testing.T) {
	src, ls := registrytest.Store(t, []string{"base", "big"}, 16<<20)
	_, m, d, err := src.Chain(registrytest.Repo, "big")
	if err != nil {
		t.Fatal(err)
	}
	blob := string(m.Layers[1].Digest)
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h := serve.New(src).Handler()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+blob) {
			once.Do(func() {
				w = &registrytest.StallWriter{ResponseWriter: w, After: 2 << 20, Stalled: started, Release: release}
			})
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(origin.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	host := strings.TrimPrefix(origin.URL, "http://")
	proxy, kill := registrytest.DistributionProxy(t, host)
	killed := make(chan bool, 1)
	go func() {
		select {
		case <-started: // the proxy is streaming the big layer from mode serve
			kill()
			close(release)
			killed <- true
		case <-time.After(2 * time.Minute):
			killed <- false
		}
	}()

	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd := modeCmd("pull", "--store", t.TempDir(), "--mirror", proxy, "--out", out, host+"/test:big")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mode pull --mirror %s: %v\n%s", proxy, err, stderr.String())
	}
	if !<-killed {
		t.Fatalf("the proxy never fetched the big layer from mode serve:\n%s", stderr.String())
	}
	if got := strings.TrimSpace(stdout.String()); got != string(d) {
		t.Errorf("mode pull printed %q; want %s", got, d)
	}
	for _, l := range ls {
		registrytest.SameFile(t, l.Path, filepath.Join(out, l.Meta.File))
	}
	t.Logf("mode pull:\n%s", stderr.String())
	if !strings.Contains(stderr.String(), "trying the next registry") {
		t.Errorf("no failover in the log:\n%s", stderr.String())
	}
}

// TestServeMirror: mode serve --mirror puts mode.mirrors on the kernel line
// of boot.ipxe; a malformed one stops mode serve, naming it.
func TestServeMirror(t *testing.T) {
	srv := modeCmd("serve", "--addr", "127.0.0.1:0", "--store", t.TempDir(), "--mirror", "cache.lan:5000", "--mirror", "10.0.0.9")
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("mode serve printed no URL: %v", err)
	}
	resp, err := http.Get(strings.TrimSpace(line) + "/boot/boot.ipxe?chain=tiny&mac=52:54:00:12:34:56")
	if err != nil {
		t.Fatal(err)
	}
	script, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(script), " mode.mirrors=cache.lan:5000,10.0.0.9") {
		t.Errorf("boot.ipxe lacks mode.mirrors:\n%s", script)
	}

	var stderr bytes.Buffer
	bad := modeCmd("serve", "--addr", "127.0.0.1:0", "--store", t.TempDir(), "--mirror", "http://cache.lan")
	bad.Stderr = &stderr
	if err := bad.Run(); err == nil || !strings.Contains(stderr.String(), `--mirror: mirror list "http://cache.lan"`) {
		t.Errorf("mode serve --mirror http://cache.lan: %v, %q; want an error naming the list", err, stderr.String())
	}
}
