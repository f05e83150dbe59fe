package activate

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mode-build/mode/boot/lazy"
	"github.com/mode-build/mode/internal/proc"
	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/squashfs"
	"github.com/mode-build/mode/verity"
)

// TestMain makes the test binary a lazy server when Start runs it again
// (as modeinit.Main does for the mode binary).
func TestMain(m *testing.M) {
	if lazy.Called() {
		os.Exit(lazy.Main())
	}
	os.Exit(m.Run())
}

// TestActivateLazyNoRange: on a lazy boot, a registry module with verity
// data is read lazily; a registry that ignores HTTP Range is found out by
// the lazy server's probe (a range GET answered whole), and the layer is
// then downloaded whole, as on any other boot, and activate says so;
// nothing of the server stays (no status file, no process).
func TestActivateLazyNoRange(t *testing.T) {
	s := newSystem(t)
	ctx := context.Background()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// Larger than the probe's range (remote.FirstChunk): a range GET of
	// the whole blob answered whole would tell nothing.
	src := t.TempDir()
	write(t, filepath.Join(src, "etc/tools.conf"), "tools\n")
	noise := make([]byte, 256<<10)
	rand.Read(noise)
	write(t, filepath.Join(src, "usr/share/tools/noise"), string(noise))
	file := filepath.Join(t.TempDir(), "base-console-tools.sqfs")
	if err := squashfs.Squash(ctx, src, file, "gzip"); err != nil {
		t.Fatal(err)
	}
	tools := store.Layer{Path: file, Meta: layers.Meta{Name: "tools", Chain: []string{"base", "console", "tools"}, File: filepath.Base(file), Compression: "gzip", Parent: "console"}}
	vp, _, _, err := verity.AppendDigest(tools.Path)
	if err != nil {
		t.Fatal(err)
	}
	tools.Meta.Verity = vp
	chain := []store.Layer{squashLayer(t, []string{"base"}, "base\n", layers.DefaultArch),
		squashLayer(t, []string{"base", "console"}, "console\n", layers.DefaultArch), tools}
	if _, err := st.AddChainAs(ctx, registrytest.Repo, "tools", "tools", chain); err != nil {
		t.Fatal(err)
	}
	c, _, _, err := st.Chain(registrytest.Repo, "tools")
	if err != nil {
		t.Fatal(err)
	}
	blob := c.Layers[2].Digest
	var mu sync.Mutex
	var gets []string // the GETs of tools' blob: their Range, or "whole"
	inner := serve.New(st).Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && path.Base(r.URL.Path) == blob {
			mu.Lock()
			gets = append(gets, r.Header.Get("Range")+"|")
			mu.Unlock()
		}
		r.Header.Del("Range")
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	b := layers.Booted{Name: "base-console", Ref: host + "/" + registrytest.Repo + ":console", Insecure: true, Lazy: true, Layers: c.Layers[:2]}
	if err := writeJSON(layers.ChainFile(s.run), b); err != nil {
		t.Fatal(err)
	}
	a, err := Activate(ctx, "tools", s.opts())
	if err != nil {
		t.Fatal(err)
	}
	if a.Module.Lazy != nil || !strings.Contains(a.How, "ignores HTTP Range: downloaded the layer whole") {
		t.Errorf("activated with lazy %+v, how %q: want the layer downloaded whole, and said", a.Module.Lazy, a.How)
	}
	if got := s.read("etc/tools.conf"); got != "tools\n" {
		t.Errorf("/etc/tools.conf: %q", got)
	}
	mu.Lock()
	got := strings.Join(gets, " ")
	mu.Unlock()
	if !strings.HasPrefix(got, "bytes=0-") || !strings.HasSuffix(got, " |") {
		t.Errorf("the GETs of the module's blob (Range|): %s; want the probe's range first, a whole GET last", got)
	}
	if left, _ := filepath.Glob(filepath.Join(s.run, "lazy-*")); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	if _, err := Deactivate(ctx, "tools", s.opts()); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(layers.LayersDir(s.run), "*.sqfs")); len(left) != 0 {
		t.Errorf("after deactivate: %v", left)
	}
}

// TestLazyStop: the teardown of a lazily read module, its dm-verity device
// removed, stops its server (SIGUSR1, only while the pid's start time is
// the recorded one), waits for it, and removes its status file; a server
// gone already is no error.
func TestLazyStop(t *testing.T) {
	status := filepath.Join(t.TempDir(), "lazy-x.json")
	if err := os.WriteFile(status, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	start, err := proc.StartTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	l := &Lazy{Pid: cmd.Process.Pid, Start: start, Status: status}
	if msg, err := l.stop(false); err != nil || msg != "" {
		t.Fatalf("close: %q, %v", msg, err)
	}
	if err := <-waited; err == nil || !strings.Contains(err.Error(), "user defined signal 1") {
		t.Errorf("the server's end: %v, want ended by SIGUSR1", err)
	}
	if _, err := os.Stat(status); !os.IsNotExist(err) {
		t.Errorf("the status file stays: %v", err)
	}
	if _, err := proc.StartTime(cmd.Process.Pid); err == nil {
		t.Errorf("proc.StartTime of an ended process: no error")
	}
	// Another process with a pid's recorded start time that differs is left alone.
	other := &Lazy{Pid: os.Getpid(), Start: "1", Status: status}
	if _, err := other.stop(false); err != nil {
		t.Errorf("close with a reused pid: %v", err)
	}
}
