package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// guestHost is the host's loopback as QEMU user networking shows it to the guest.
const guestHost = "10.0.2.2"

// bootRef returns the reference the guest pulls for arg and whether it needs
// plain HTTP. A registry reference (HOST[:PORT]/REPO…) is used as it is, with
// a loopback host rewritten to the guest's view of it; anything else is a
// chain of the local store at storeDir, served on 127.0.0.1 until stop,
// accepting pushes with pushToken.
func bootRef(ctx context.Context, arg, storeDir, pushToken string) (ref string, insecure bool, stop func(), err error) {
	if registryRef(arg) {
		host, _, _ := strings.Cut(arg, "/")
		for _, lo := range []string{"localhost", "127.0.0.1"} {
			if host == lo || strings.HasPrefix(host, lo+":") {
				return guestHost + strings.TrimPrefix(arg, lo), true, func() {}, nil
			}
		}
		return arg, false, func() {}, nil
	}
	s, err := store.Open(storeDir)
	if err != nil {
		return "", false, nil, err
	}
	repo, ref, err := s.Find(arg)
	if err != nil {
		return "", false, nil, fmt.Errorf("boot %s: not a registry reference nor a chain of the store %s: %w", arg, storeDir, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", false, nil, err
	}
	srv := serve.New(s, serve.WithPushToken(pushToken)).HTTPServer()
	go srv.Serve(ln)
	port := ln.Addr().(*net.TCPAddr).Port
	fmt.Fprintf(os.Stderr, "boot: serving the store %s on %s\n", storeDir, ln.Addr())
	stop = func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}
	tag := ":" + ref
	if strings.Contains(ref, ":") {
		tag = "@" + ref
	}
	return fmt.Sprintf("%s:%d/%s%s", guestHost, port, repo, tag), true, stop, nil
}

// speaksTLS reports whether the registry of ref (HOST:PORT/…) answers a TLS
// handshake. It only probes; the guest verifies the certificate.
func speaksTLS(ref string) bool {
	host, _, _ := strings.Cut(ref, "/")
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", host, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
