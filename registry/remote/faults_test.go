package remote_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// faults wraps a registry handler and misbehaves on GETs of one blob.
type faults struct {
	h      http.Handler
	blob   string // the digest whose GETs misbehave
	mu     sync.Mutex
	cut    int  // GETs of blob still to cut short after half
	flip   bool // flip a byte of blob
	down   int  // requests still to answer 503
	ranges []string
	gets   int
}

func (f *faults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if f.down > 0 {
		f.down--
		f.mu.Unlock()
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	isBlob := r.Method == http.MethodGet && f.blob != "" && strings.HasSuffix(r.URL.Path, "/blobs/"+f.blob)
	cut, flip := false, false
	if isBlob {
		f.gets++
		f.ranges = append(f.ranges, r.Header.Get("Range"))
		if f.cut > 0 {
			f.cut--
			cut = true
		}
		flip = f.flip
	}
	f.mu.Unlock()
	if cut || flip {
		w = &faultyWriter{ResponseWriter: w, cut: cut, flip: flip}
	}
	f.h.ServeHTTP(w, r)
}

func (f *faults) stats() (gets int, ranges []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets, append([]string(nil), f.ranges...)
}

// faultyWriter cuts a response after half its declared length (aborting the
// connection) or flips one byte of it.
type faultyWriter struct {
	http.ResponseWriter
	cut, flip bool
	n, limit  int64
}

func (w *faultyWriter) Write(p []byte) (int, error) {
	if w.limit == 0 {
		var cl int64
		for _, c := range w.Header().Get("Content-Length") {
			cl = cl*10 + int64(c-'0')
		}
		w.limit = max(cl/2, 1)
	}
	if w.flip && w.n <= 1000 && w.n+int64(len(p)) > 1000 {
		q := append([]byte(nil), p...)
		q[1000-w.n] ^= 0xff
		p = q
	}
	if w.cut && w.n+int64(len(p)) > w.limit {
		k := w.limit - w.n
		w.ResponseWriter.Write(p[:k])
		w.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	w.n += int64(len(p))
	return w.ResponseWriter.Write(p)
}

// faultyServer serves store s through faults on the blob d and returns host:port.
func faultyServer(t testing.TB, s *store.Store, d string) (string, *faults) {
	t.Helper()
	f := &faults{h: serve.New(s).Handler(), blob: d}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), f
}

// byteCounter is a transport that counts the request body bytes of uploads.
type byteCounter struct {
	mu sync.Mutex
	n  int64
}

func (c *byteCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && (r.Method == http.MethodPatch || r.Method == http.MethodPut || r.Method == http.MethodPost) {
		r.Body = &countBody{ReadCloser: r.Body, c: c}
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (c *byteCounter) uploaded() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

type countBody struct {
	io.ReadCloser
	c *byteCounter
}

func (b *countBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.c.mu.Lock()
	b.c.n += int64(n)
	b.c.mu.Unlock()
	return n, err
}
