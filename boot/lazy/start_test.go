package lazy

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// TestMain makes the test binary a lazy server when Start runs it again.
func TestMain(m *testing.M) {
	if Called() {
		os.Exit(Main())
	}
	os.Exit(m.Run())
}

// TestStartNoRange: the server started by Start probes a registry that
// answers a range request with the whole blob, says so (Ready.NoRange),
// and leaves neither the blob's file nor a status file behind; a spec it
// cannot serve is an error naming the layer.
func TestStartNoRange(t *testing.T) {
	blob := make([]byte, 256<<10) // more than the probe's range
	rand.Read(blob)
	d := digest.FromBytes(blob)
	var mu sync.Mutex
	var ranges []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/blobs/"+d.String()) {
			w.WriteHeader(http.StatusOK) // the /v2/ ping
			return
		}
		mu.Lock()
		ranges = append(ranges, r.Header.Get("Range"))
		mu.Unlock()
		r.Header.Del("Range")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(blob))
	}))
	defer srv.Close()
	run := t.TempDir()
	file := filepath.Join(run, "layer.sqfs")
	spec := Spec{Ref: strings.TrimPrefix(srv.URL, "http://") + "/r@" + d.String(), Insecure: true, RunDir: run, Status: "lazy-x.json",
		Stop: true, Layers: []Layer{{File: file, Digest: d.String(), Size: int64(len(blob))}}}
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ready, err := Start(spec, out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ready.NoRange, "ignores HTTP Range") || len(ready.Devices) != 0 {
		t.Errorf("ready %+v: want NoRange and no devices", ready)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ranges) != 1 || !strings.HasPrefix(ranges[0], "bytes=0-") {
		t.Errorf("the registry was asked %q: want the probe's one range", ranges)
	}
	if left, _ := os.ReadDir(run); len(left) != 0 {
		t.Errorf("left in the run directory: %v", left)
	}

	spec.Layers[0].Digest = "sha256:nothex"
	if _, err := Start(spec, out); err == nil || !strings.Contains(err.Error(), "lazy server: layer "+file) {
		t.Errorf("a bad digest: %v", err)
	}
}
