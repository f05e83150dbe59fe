package main

import (
	"net"
	"path/filepath"
	"testing"

	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// TestServeReloadKeepsPXEAdvertise: with --pxe IFACE and no --advertise,
// the address --pxe derives from the interface (what the proxyDHCP tells
// iPXE) stays /boot/'s advertised address after a reload (SIGHUP), rather
// than falling back to the default route's interface. No socket of --pxe is
// opened (the interface, lo, is only parsed).
func TestServeReloadKeepsPXEAdvertise(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--store", filepath.Join(dir, "store"), "--addr", "127.0.0.1:0", "--pxe", "lo",
		"--reports-db", filepath.Join(dir, "reports.db")}
	c, err := parseServe(args)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(c.String("store"))
	if err != nil {
		t.Fatal(err)
	}
	// What startPXE does to the configuration, without its sockets, for an
	// interface whose address is 127.0.0.1 (never the default route's).
	derived := "127.0.0.1"
	if err := c.Set("advertise", derived); err != nil {
		t.Fatal(err)
	}
	listen := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}
	want := net.JoinHostPort(derived, "5000")
	fl, err := newFleet(t.Context(), c, s)
	if err != nil {
		t.Fatal(err)
	}
	st, closeSite, err := newSite(c, s, fl)
	if err != nil {
		t.Fatal(err)
	}
	defer closeSite()
	l := &liveServe{args: args, cur: c, store: s, listen: listen, sv: serve.New(s), site: st, pxeAdvertise: derived}
	defer l.cleanup()
	if err := l.setBoot(c); err != nil {
		t.Fatal(err)
	}
	if got := l.bootCfg.Advertise; got != want {
		t.Fatalf("before the reload /boot/ advertises %s, want %s", got, want)
	}
	if err := l.reload(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if got := l.bootCfg.Advertise; got != want {
		t.Errorf("after the reload /boot/ advertises %s, want %s (the address --pxe derived)", got, want)
	}
	if got := l.cur.String("advertise"); got != derived {
		t.Errorf("after the reload --advertise is %q, want %q", got, derived)
	}
}
