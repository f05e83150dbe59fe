package serve_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// limitedServer runs sv.HTTPServer on 127.0.0.1 for the test and returns its address.
func limitedServer(t *testing.T, sv *serve.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := sv.HTTPServer()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// cutOff waits (30s at most) for the server to close conn, reading what it sends.
func cutOff(t *testing.T, conn net.Conn) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	b, err := io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server kept a stalled connection open for 30s (got %q)", b)
	}
	return string(b)
}

// TestSlowClients: a client that sends its headers too slowly, or stalls in
// the middle of an upload, is cut off; the upload stays as far as it came.
func TestSlowClients(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sv := serve.New(s, serve.WithPushToken("tok"), serve.WithLimits(serve.Limits{ReadHeader: time.Second, Idle: time.Second}))
	addr := limitedServer(t, sv)

	t.Run("headers", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprint(conn, "GET /v2/ HTTP/1.1\r\nHost: x\r\n") // and nothing more
		cutOff(t, conn)
	})
	t.Run("upload body", func(t *testing.T) {
		c := client{t, "http://" + addr}
		resp, _ := c.expect(http.StatusAccepted, "POST", "/v2/slow/blobs/uploads/", "")
		loc := resp.Header.Get("Location")
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "PATCH %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\nContent-Length: 1000\r\n\r\n0123456789", loc)
		cutOff(t, conn) // 990 bytes never come
		resp, _ = c.expect(http.StatusNoContent, "GET", loc, "")
		if r := resp.Header.Get("Range"); r != "0-9" {
			t.Errorf("after the cut: Range %q, want 0-9", r)
		}
	})
}

// signal is a slog handler that reports every record with message msg.
type signal struct {
	msg string
	c   chan slog.Record
}

func (s signal) Enabled(context.Context, slog.Level) bool { return true }
func (s signal) Handle(_ context.Context, r slog.Record) error {
	if r.Message == s.msg {
		s.c <- r
	}
	return nil
}
func (s signal) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s signal) WithGroup(string) slog.Handler      { return s }

// TestUploadExpiry: an abandoned upload is removed, with its data, by the
// server itself once untouched for the expiry.
func TestUploadExpiry(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	expired := signal{"upload expired", make(chan slog.Record, 4)}
	sv := serve.New(s, serve.WithPushToken("tok"), serve.WithLogger(slog.New(expired)),
		serve.WithLimits(serve.Limits{UploadExpiry: 2 * time.Second}))
	c := client{t, "http://" + limitedServer(t, sv)}
	resp, _ := c.expect(http.StatusAccepted, "POST", "/v2/gone/blobs/uploads/", "")
	loc := resp.Header.Get("Location")
	c.expect(http.StatusAccepted, "PATCH", loc, "abandoned", "Content-Range", "0-8")
	if files, _ := filepath.Glob(filepath.Join(s.TempDir(), "upload-*")); len(files) != 1 {
		t.Fatalf("upload files %v, want one", files)
	}
	select {
	case r := <-expired.c:
		var id string
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "id" {
				id = a.Value.String()
			}
			return true
		})
		if !strings.HasSuffix(loc, "/"+id) {
			t.Errorf("expired upload %s, want the one at %s", id, loc)
		}
	case <-time.After(time.Minute):
		t.Fatal("the abandoned upload did not expire within a minute")
	}
	if files, _ := filepath.Glob(filepath.Join(s.TempDir(), "upload-*")); len(files) != 0 {
		t.Errorf("expired upload left %v", files)
	}
	c.expect(http.StatusNotFound, "GET", loc, "")
}

// TestMaxUploads: upload sessions beyond the cap are refused with 429 until one ends.
func TestMaxUploads(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sv := serve.New(s, serve.WithPushToken("tok"), serve.WithLimits(serve.Limits{Uploads: 2}))
	c := client{t, "http://" + limitedServer(t, sv)}
	var locs []string
	for i := 0; i < 2; i++ {
		resp, _ := c.expect(http.StatusAccepted, "POST", "/v2/many/blobs/uploads/", "")
		locs = append(locs, resp.Header.Get("Location"))
	}
	resp, body := c.do("POST", "/v2/many/blobs/uploads/", "")
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "TOOMANYREQUESTS") {
		t.Errorf("third upload: %d %s, want 429", resp.StatusCode, body)
	}
	c.expect(http.StatusNoContent, "DELETE", locs[0], "")
	c.expect(http.StatusAccepted, "POST", "/v2/many/blobs/uploads/", "")
}
