package faultproxy_test

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/faultproxy"
)

// echoServer answers each connection with n bytes of 'x', then closes it.
func echoServer(t *testing.T, n int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.WriteString(c, strings.Repeat("x", n))
			}()
		}
	}()
	return ln.Addr().String()
}

func TestProxy(t *testing.T) {
	target := echoServer(t, 10000)
	for _, tc := range []struct {
		name     string
		f        faultproxy.Faults
		min, max int // bytes the client may get
		refused  bool
	}{
		{"faithful", faultproxy.Faults{}, 10000, 10000, false},
		{"cut", faultproxy.Faults{CutMin: 100, CutMax: 1000}, 100, 1000, false},
		{"cut with reset", faultproxy.Faults{CutMin: 10, CutMax: 10, Reset: true}, 0, 10, false},
		{"down", faultproxy.Faults{Down: true}, 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := faultproxy.New(target, 1, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			var b []byte
			c, err := net.Dial("tcp", p.Addr())
			switch {
			case err != nil && tc.f.Reset && errors.Is(err, syscall.ECONNRESET):
				// The reset came before Dial looked at its connect: 0 bytes.
			case err != nil:
				t.Fatal(err)
			default:
				defer c.Close()
				b, _ = io.ReadAll(c)
			}
			if len(b) < tc.min || len(b) > tc.max {
				t.Errorf("got %d bytes; want %d to %d", len(b), tc.min, tc.max)
			}
			if st := p.Stats(); (st.Refused == 1) != tc.refused {
				t.Errorf("stats %+v; refused %v", st, tc.refused)
			}
		})
	}
	if _, err := faultproxy.New(target, 1, faultproxy.Faults{CutMin: 5, CutMax: 1}); err == nil || !strings.Contains(err.Error(), "[5, 1]") {
		t.Errorf("a reversed cut range: %v", err)
	}
}

// TestStall: a stalled connection sends its budget, then nothing, without
// ending, until the proxy closes.
func TestStall(t *testing.T) {
	p, err := faultproxy.New(echoServer(t, 10000), 1, faultproxy.Faults{CutMin: 100, CutMax: 100, Stall: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 100)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read after the stall: %d bytes, %v; want the deadline to pass", n, err)
	}
	c.SetReadDeadline(time.Time{})
	go p.Close()
	if b, _ := io.ReadAll(c); len(b) != 0 {
		t.Errorf("%d bytes after the stall", len(b))
	}
}
