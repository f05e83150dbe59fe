package pxe

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tftpError is an ERROR packet a test client received.
type tftpError struct {
	code uint16
	msg  string
}

func (e *tftpError) Error() string { return fmt.Sprintf("tftp error %d: %s", e.code, e.msg) }

// tftpGet is a minimal TFTP client (RFC 1350, 2347-2349): it reads name from
// server with the options given and returns the file and the options the
// server acknowledged.
func tftpGet(conn *net.UDPConn, server *net.UDPAddr, name string, opts ...string) ([]byte, map[string]string, error) {
	rrq := []byte{0, opRRQ}
	for _, s := range append([]string{name, "octet"}, opts...) {
		rrq = append(append(rrq, s...), 0)
	}
	if _, err := conn.WriteToUDP(rrq, server); err != nil {
		return nil, nil, err
	}
	var (
		file    bytes.Buffer
		acked   = map[string]string{}
		blksize = 512
		next    = uint16(1)
		tid     *net.UDPAddr
		buf     = make([]byte, 70000)
	)
	ack := func(block uint16) error {
		_, err := conn.WriteToUDP([]byte{0, opACK, byte(block >> 8), byte(block)}, tid)
		return err
	}
	for {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			return nil, nil, err
		}
		if tid == nil {
			if from.Port == server.Port && binary.BigEndian.Uint16(buf) != opERROR {
				return nil, nil, fmt.Errorf("answer from the server's port %d, not a transfer's", from.Port)
			}
			tid = from
		}
		p := buf[:n]
		switch binary.BigEndian.Uint16(p) {
		case opERROR:
			return nil, nil, &tftpError{binary.BigEndian.Uint16(p[2:]), string(bytes.TrimRight(p[4:], "\x00"))}
		case opOACK:
			f := strings.Split(string(p[2:]), "\x00")
			for i := 0; i+1 < len(f); i += 2 {
				acked[f[i]] = f[i+1]
			}
			if v, ok := acked["blksize"]; ok {
				blksize, _ = strconv.Atoi(v)
			}
			if err := ack(0); err != nil {
				return nil, nil, err
			}
		case opDATA:
			block := binary.BigEndian.Uint16(p[2:])
			if block == next {
				file.Write(p[4:])
				next++
			}
			if err := ack(block); err != nil {
				return nil, nil, err
			}
			if block == next-1 && len(p)-4 < blksize {
				return file.Bytes(), acked, nil
			}
		}
	}
}

// tftpServer serves dir on 127.0.0.1 until the test ends.
func tftpServer(t *testing.T, dir string) *net.UDPAddr {
	t.Helper()
	s, err := NewTFTP(dir)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, conn) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		s.Close()
	})
	return conn.LocalAddr().(*net.UDPAddr)
}

func client(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestTFTP(t *testing.T) {
	top := t.TempDir()
	root := filepath.Join(top, "root")
	files := map[string][]byte{
		"undionly.kpxe":  random(70*1024 + 3),
		"exact512.bin":   random(4 * 512), // ends with an empty block
		"empty":          nil,
		"sub/ipxe.efi":   random(1468*3 + 1),
		"../secret.txt":  []byte("outside the root"),
		"sub/../in.conf": []byte("inside"),
	}
	for name, b := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink("../secret.txt", filepath.Join(root, "escape"))
	os.Symlink("/etc/passwd", filepath.Join(root, "abs"))
	os.Symlink("undionly.kpxe", filepath.Join(root, "inside-link"))
	srv := tftpServer(t, root)

	for _, tc := range []struct {
		name, file string
		opts       []string
		want       []byte
		acked      string // the OACK as k=v,...
	}{
		{"plain", "undionly.kpxe", nil, files["undionly.kpxe"], ""},
		{"blksize 1468 and tsize", "undionly.kpxe", []string{"blksize", "1468", "tsize", "0"}, files["undionly.kpxe"], "blksize=1468,tsize=71683"},
		{"blksize above a frame is lowered", "sub/ipxe.efi", []string{"blksize", "8192"}, files["sub/ipxe.efi"], "blksize=1468"},
		{"a multiple of the block size", "exact512.bin", nil, files["exact512.bin"], ""},
		{"empty file", "empty", []string{"tsize", "0"}, nil, "tsize=0"},
		{"leading slash and backslashes", "/sub\\ipxe.efi", nil, files["sub/ipxe.efi"], ""},
		{"timeout option", "in.conf", []string{"timeout", "3", "unknown", "1"}, []byte("inside"), "timeout=3"},
		{"a link inside the root", "inside-link", nil, files["undionly.kpxe"], ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, acked, err := tftpGet(client(t), srv, tc.file, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("got %d bytes, want %d, not byte-identical", len(got), len(tc.want))
			}
			var kv []string
			for _, k := range []string{"blksize", "timeout", "tsize"} {
				if v, ok := acked[k]; ok {
					kv = append(kv, k+"="+v)
				}
			}
			if strings.Join(kv, ",") != tc.acked || len(acked) != len(kv) {
				t.Errorf("OACK %v, want %s", acked, tc.acked)
			}
		})
	}
	for _, tc := range []struct {
		name, file string
		code       uint16
	}{
		{"dot-dot", "../secret.txt", errAccess},
		{"dot-dot inside a path", "sub/../../secret.txt", errAccess},
		{"link leaving the root", "escape", errAccess},
		{"absolute link", "abs", errAccess},
		{"missing", "nosuch", errNotFound},
		{"directory", "sub", errAccess},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			_, _, err := tftpGet(client(t), srv, tc.file)
			te, ok := err.(*tftpError)
			if !ok || te.code != tc.code {
				t.Errorf("got %v, want TFTP error %d", err, tc.code)
			}
		})
	}
	t.Run("refused: write", func(t *testing.T) {
		c := client(t)
		c.WriteToUDP([]byte("\x00\x02new\x00octet\x00"), srv)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 100)
		n, _, err := c.ReadFromUDP(buf)
		if err != nil || n < 4 || binary.BigEndian.Uint16(buf) != opERROR || binary.BigEndian.Uint16(buf[2:]) != errAccess {
			t.Errorf("a write request got %q, %v; want an access violation", buf[:n], err)
		}
		if _, err := os.Stat(filepath.Join(root, "new")); err == nil {
			t.Error("the write request created a file")
		}
	})
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// TestTFTPBusy: transfers beyond MaxTransfers are refused, not queued.
func TestTFTPBusy(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "f"), make([]byte, 2048), 0o644)
	s, err := NewTFTP(root)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.MaxTransfers = 1
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Serve(ctx, conn)
	srv := conn.LocalAddr().(*net.UDPAddr)
	// A client that asks and never acknowledges holds the only slot.
	idle := client(t)
	idle.WriteToUDP([]byte("\x00\x01f\x00octet\x00"), srv)
	idle.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := idle.ReadFromUDP(make([]byte, 600)); err != nil {
		t.Fatal(err)
	}
	_, _, err = tftpGet(client(t), srv, "f")
	if te, ok := err.(*tftpError); !ok || te.code != errUndefined || !strings.Contains(te.msg, "busy") {
		t.Errorf("second transfer: %v, want busy", err)
	}
}
