package netboot_test

import (
	"context"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/boot/netboot"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/registry/trust"
)

// TestNew: the server of mode serve's /boot/ from plain options: the files
// given, mode.ref in the store's only repository at the address told, the
// boot token; and what it refuses.
func TestNew(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	layer := filepath.Join(dir, "base.sqfs")
	os.WriteFile(layer, []byte("not squashfs: the store only hashes it"), 0o644)
	if _, err := s.AddChain(context.Background(), "tiny", "base", []store.Layer{{Path: layer, Meta: layers.Meta{Name: "base"}}}); err != nil {
		t.Fatal(err)
	}
	k, i := filepath.Join(dir, "k"), filepath.Join(dir, "i")
	os.WriteFile(k, []byte("KERNEL"), 0o644)
	os.WriteFile(i, []byte("INITRD"), 0o644)
	listen := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}

	nb, err := netboot.New(s, listen, netboot.Options{Kernel: k, Initrd: i, Advertise: "10.0.0.1:5000", PushToken: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	defer nb.Close()
	if nb.Config.Repo != "tiny" || nb.Config.Advertise != "10.0.0.1:5000" {
		t.Errorf("config %+v", nb.Config)
	}
	srv := httptest.NewServer(nb)
	defer srv.Close()
	if code, body := get(t, srv.URL+"/boot/vmlinuz"); code != 200 || body != "KERNEL" {
		t.Errorf("vmlinuz: %d %q", code, body)
	}
	if code, body := get(t, srv.URL+"/boot/initrd.img"); code != 200 || body != "INITRD" {
		t.Errorf("initrd.img: %d %q", code, body)
	}
	_, script := get(t, srv.URL+"/boot/boot.ipxe?chain=base&mac=52:54:00:12:34:56")
	for _, want := range []string{"mode.ref=10.0.0.1:5000/tiny:base", "mode.report=", "http://10.0.0.1:5000/boot/chain/tiny/base/vmlinuz "} {
		if !strings.Contains(script, want) {
			t.Errorf("boot.ipxe lacks %q:\n%s", want, script)
		}
	}
	if strings.Contains(script, "secret") {
		t.Errorf("boot.ipxe carries the push token itself:\n%s", script)
	}

	if nb, err := netboot.New(s, listen, netboot.Options{Chain: "base", Initrd: i}); err != nil || nb.Config.Chain != "base" || nb.Config.Repo != "tiny" {
		t.Errorf("Chain base: %+v, %v", nb, err)
	} else {
		nb.Close()
	}
	if _, err := netboot.New(s, listen, netboot.Options{Chain: "nosuch"}); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("an absent chain: %v", err)
	}
	_, pub, err := trust.WriteKeyPair(filepath.Join(dir, "key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := netboot.New(s, listen, netboot.Options{Initrd: i, Trust: []string{pub}}); err == nil {
		t.Error("trusted keys with an initramfs given: no error")
	}
}

func TestUnreachable(t *testing.T) {
	loop := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}
	any := &net.TCPAddr{IP: net.IPv4zero, Port: 5000}
	for _, tt := range []struct {
		listen net.Addr
		adv    string
		want   bool
	}{
		{loop, "192.168.1.5:5000", true},
		{loop, "127.0.0.1:5000", false},
		{loop, "10.0.2.2:5000", false}, // QEMU's user network reaches the host's loopback
		{any, "192.168.1.5:5000", false},
	} {
		if got := netboot.Unreachable(tt.listen, tt.adv); got != tt.want {
			t.Errorf("Unreachable(%v, %q) = %v, want %v", tt.listen, tt.adv, got, tt.want)
		}
	}
}
