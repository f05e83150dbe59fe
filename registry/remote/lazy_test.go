package remote

import (
	"bytes"
	"context"
	"errors"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mode-build/mode/registry/store"
	"github.com/opencontainers/go-digest"
)

// blobServer serves data as the blob of repository test, with Range unless
// noRange; it counts requests.
func blobServer(t *testing.T, data []byte, noRange bool) (*httptest.Server, *atomic.Int64) {
	var reqs atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return // the client's ping: no auth
		}
		if !strings.HasPrefix(r.URL.Path, "/v2/test/blobs/") {
			http.NotFound(w, r)
			return
		}
		reqs.Add(1)
		if noRange {
			r.Header.Del("Range")
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(srv.Close)
	return srv, &reqs
}

func randomBlob(n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(1)).Read(b)
	return b
}

func openTestBlob(t *testing.T, srv *httptest.Server, data []byte) *Blob {
	ref := strings.TrimPrefix(srv.URL, "http://") + "/test:x"
	b, err := OpenBlob(context.Background(), ref, digest.FromBytes(data), int64(len(data)),
		filepath.Join(t.TempDir(), "layer.sqfs"), WithRetries(1, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestBlobReadsOnDemand(t *testing.T) {
	data := randomBlob(10*MaxChunk + 1234)
	srv, reqs := blobServer(t, data, false)
	b := openTestBlob(t, srv, data)
	if err := b.Probe(); err != nil {
		t.Fatal(err)
	}
	if got := b.Fetched(); got != FirstChunk {
		t.Errorf("the probe fetched %d bytes, want FirstChunk (%d)", got, FirstChunk)
	}
	// A small read elsewhere, across a unit boundary, fetches FirstChunk
	// from its unit: the two units it spans.
	p := make([]byte, 8192)
	off := int64(3*MaxChunk - 4096)
	if _, err := b.ReadAt(p, off); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p, data[off:off+8192]) {
		t.Fatal("ReadAt returned the wrong bytes")
	}
	if got := b.Fetched(); got != 2*FirstChunk {
		t.Errorf("fetched %d bytes, want the probe's and one FirstChunk (%d)", got, 2*FirstChunk)
	}
	n := reqs.Load()
	b.ReadAt(p, off) // held: no request
	if reqs.Load() != n {
		t.Errorf("a second read of held units made %d requests", reqs.Load()-n)
	}
	// Reads that run on from the last fetch fetch twice as much each time,
	// up to MaxChunk.
	next := off - off%MinChunk + FirstChunk
	for _, want := range []int64{2 * FirstChunk, 4 * FirstChunk, 8 * FirstChunk, MaxChunk, MaxChunk} {
		before := b.Fetched()
		if _, err := b.ReadAt(p[:100], next); err != nil {
			t.Fatal(err)
		}
		if got := b.Fetched() - before; got != want {
			t.Errorf("a read running on at %d fetched %d bytes, want %d", next, got, want)
		}
		next += want
	}
	// The last, short unit; a read past the end is cut.
	last := make([]byte, 2000)
	got, err := b.ReadAt(last, int64(len(data))-1000)
	if got != 1000 || !bytes.Equal(last[:1000], data[len(data)-1000:]) {
		t.Errorf("read at the end: %d bytes, %v", got, err)
	}
	n = reqs.Load()
	if err := b.Fill(context.Background(), 0, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if fills := reqs.Load() - n; fills > 2*int64(len(data))/MaxChunk {
		t.Errorf("Fill made %d requests for %d bytes: not MaxChunk at a time", fills, len(data))
	}
	select {
	case <-b.Whole():
	default:
		t.Fatal("Fill returned but the blob is not whole")
	}
	if b.Fetched() != int64(len(data)) || b.Local() != int64(len(data)) {
		t.Errorf("after Fill: fetched %d, local %d, want %d each", b.Fetched(), b.Local(), len(data))
	}
	// The registry gone: every byte is still there.
	srv.Close()
	all := make([]byte, len(data))
	if _, err := b.ReadAt(all, 0); err != nil || !bytes.Equal(all, data) {
		t.Errorf("read after the registry stopped: %v", err)
	}
}

// TestBlobFixedChunks: WithChunks(c, c) fetches c from each missing unit read.
func TestBlobFixedChunks(t *testing.T) {
	const c = 256 << 10
	data := randomBlob(4 * c)
	srv, _ := blobServer(t, data, false)
	ref := strings.TrimPrefix(srv.URL, "http://") + "/test:x"
	b, err := OpenBlob(context.Background(), ref, digest.FromBytes(data), int64(len(data)),
		filepath.Join(t.TempDir(), "layer.sqfs"), WithChunks(c, c))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i, off := range []int64{0, c, 3 * c} {
		if _, err := b.ReadAt(make([]byte, 10), off); err != nil {
			t.Fatal(err)
		}
		if got := b.Fetched(); got != int64(i+1)*c {
			t.Errorf("after read %d: fetched %d, want %d", i+1, got, int64(i+1)*c)
		}
	}
}

func TestBlobNoRange(t *testing.T) {
	data := randomBlob(3 * MaxChunk)
	srv, _ := blobServer(t, data, true)
	if err := openTestBlob(t, srv, data).Probe(); !errors.Is(err, ErrNoRange) {
		t.Errorf("Probe of a registry without Range: %v, want ErrNoRange", err)
	}
}

func TestBlobChangedUnderneath(t *testing.T) {
	data := randomBlob(3 * MaxChunk)
	served := bytes.Clone(data)
	served[MaxChunk+5] ^= 1
	srv, _ := blobServer(t, served, false)
	b := openTestBlob(t, srv, data)
	if err := b.Fill(context.Background(), 0, 10*time.Millisecond); !errors.Is(err, store.ErrDigest) {
		t.Errorf("Fill of a changed blob: %v, want ErrDigest", err)
	}
}

func TestBlobRetriesThenFails(t *testing.T) {
	data := randomBlob(MaxChunk + 1)
	srv, _ := blobServer(t, data, false)
	b := openTestBlob(t, srv, data)
	srv.Close()
	if _, err := b.ReadAt(make([]byte, 10), 0); err == nil {
		t.Fatal("a read with the registry down succeeded")
	}
	if b.Local() != 0 {
		t.Errorf("local %d bytes after a failed fetch", b.Local())
	}
}

func TestBlobFillRate(t *testing.T) {
	data := randomBlob(4 * MaxChunk)
	srv, _ := blobServer(t, data, false)
	b := openTestBlob(t, srv, data)
	start := time.Now()
	// 2 MaxChunk a second: the 4 take at least the time of 3 (the first
	// goes at once).
	if err := b.Fill(context.Background(), 2*MaxChunk, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 1400*time.Millisecond {
		t.Errorf("4 MaxChunk at 2 a second took %s", d)
	}
}
