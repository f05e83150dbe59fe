package pxe

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
)

// TestPXEBootBesideSiteDHCP boots examples/tiny in QEMU (SeaBIOS and OVMF, -boot n,
// no boot file from anyone but mode) on a bridge in a network namespace
// where a site DHCP server that knows nothing of PXE hands out addresses
// and `mode serve --pxe br0` answers as a proxy: QEMU's NIC ROM (iPXE)
// gets boot.ipxe's URL from the proxy, then the kernel, the initramfs and
// the chain from mode serve.
//
//	ns lan:  br0 10.232.0.1/24 (mode serve) ── tap0 (QEMU)
//	          └── veth lan-dhcp ══ dhcp0 10.232.0.2/24 in ns dhcp (site DHCP)
func TestPXEBootBesideSiteDHCP(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresQEMU(t)
	testutil.RequiresTools(t, "ip")
	storeDir := filepath.Join(t.TempDir(), "store")
	testutil.BuildTiny(t, filepath.Join(t.TempDir(), "out"), storeDir)
	kernel, initrd := testutil.Kernel(t).Vmlinuz, testutil.Initramfs(t)

	lan, site := siteLAN(t, "mode-pxe")

	leases := siteDHCP(t, site)

	logs := serveInLAN(t, lan, storeDir, "--boot-chain", "tiny:extra", "--kernel", kernel, "--initrd", initrd)
	wrapper := qemuInLAN(t, lan)
	for i, uefi := range []bool{false, true} {
		name := map[bool]string{false: "BIOS", true: "UEFI"}[uefi]
		t.Run(name, func(t *testing.T) {
			mac := fmt.Sprintf("52:54:00:23:20:%02x", i+1)
			m := qemu.Machine{Binary: wrapper, Tap: "tap0", MAC: mac, UEFI: uefi}
			res, err := qemu.Run(context.Background(), m, qemu.Watch{
				Expect: "MODE-TINY-OK", Fail: []string{"MODE-TINY-FAIL", "mode-init: FAILED"}, Timeout: 5 * time.Minute,
			})
			if err != nil {
				t.Fatalf("%v\nmode serve:\n%s", err, logs.String())
			}
			t.Logf("booted in %s", res.Elapsed.Round(time.Second))
			if want := `msg="pxe: answered" mac=` + mac + " type=OFFER file=http://10.232.0.1:5000/boot/boot.ipxe"; !strings.Contains(logs.String(), want) {
				t.Errorf("mode serve's log lacks %q:\n%s", want, logs.String())
			}
			// The init's own DHCP got its address from the site's server.
			if ip := fmt.Sprintf("10.232.0.%d", 100+i); !strings.Contains(res.Console, ip) {
				t.Errorf("the console lacks the site's address %s (%d acknowledged):\n%s", ip, leases(), res.Console)
			}
		})
	}
}

// siteLAN makes the two namespaces of the drawing above, named after
// prefix: lan (br0 10.232.0.1/24, tap0 for QEMU, the veth to the site's
// DHCP server) and site (dhcp0 10.232.0.2/24), deleted at the end.
func siteLAN(t *testing.T, prefix string) (lan, site string) {
	t.Helper()
	lan = netns(t, fmt.Sprintf("%s-lan%d", prefix, os.Getpid()))
	site = netns(t, fmt.Sprintf("%s-dhcp%d", prefix, os.Getpid()))
	run(t, "ip", "-n", lan, "link", "add", "br0", "type", "bridge")
	run(t, "ip", "-n", lan, "addr", "add", "10.232.0.1/24", "dev", "br0")
	run(t, "ip", "-n", lan, "tuntap", "add", "tap0", "mode", "tap")
	run(t, "ip", "-n", lan, "link", "set", "tap0", "master", "br0", "up")
	run(t, "ip", "link", "add", "lan-dhcp", "netns", lan, "type", "veth", "peer", "name", "dhcp0", "netns", site)
	run(t, "ip", "-n", lan, "link", "set", "lan-dhcp", "master", "br0", "up")
	run(t, "ip", "-n", lan, "link", "set", "br0", "up")
	run(t, "ip", "-n", site, "addr", "add", "10.232.0.2/24", "dev", "dhcp0")
	run(t, "ip", "-n", site, "link", "set", "dhcp0", "up")
	return lan, site
}

// siteDHCP runs a DHCP server that knows nothing of PXE on dhcp0 in ns:
// addresses 10.232.0.100 and up, no boot file, no next-server. It returns
// the count of the addresses it acknowledged.
func siteDHCP(t *testing.T, ns string) func() int {
	var mu sync.Mutex
	acks := 0
	byMAC := map[string]net.IP{}
	handler := func(conn net.PacketConn, peer net.Addr, m *dhcpv4.DHCPv4) {
		var typ dhcpv4.MessageType
		switch m.MessageType() {
		case dhcpv4.MessageTypeDiscover:
			typ = dhcpv4.MessageTypeOffer
		case dhcpv4.MessageTypeRequest:
			typ = dhcpv4.MessageTypeAck
		default:
			return
		}
		if sid := m.ServerIdentifier(); sid != nil && !sid.Equal(net.IPv4(10, 232, 0, 2)) {
			return // a request to another server (or the proxy)
		}
		mu.Lock()
		ip, ok := byMAC[m.ClientHWAddr.String()]
		if !ok {
			ip = net.IPv4(10, 232, 0, byte(100+len(byMAC))).To4()
			byMAC[m.ClientHWAddr.String()] = ip
		}
		if typ == dhcpv4.MessageTypeAck {
			acks++
		}
		mu.Unlock()
		resp, err := dhcpv4.NewReplyFromRequest(m,
			dhcpv4.WithMessageType(typ),
			dhcpv4.WithYourIP(ip),
			dhcpv4.WithServerIP(net.IPv4zero),
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(10, 232, 0, 2))),
			dhcpv4.WithOption(dhcpv4.OptSubnetMask(net.CIDRMask(24, 32))),
			dhcpv4.WithOption(dhcpv4.OptRouter(net.IPv4(10, 232, 0, 2))),
			dhcpv4.WithLeaseTime(3600),
		)
		if err != nil {
			return
		}
		conn.WriteTo(resp.ToBytes(), &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ClientPort})
	}
	var srv *server4.Server
	inNetns(t, ns, func() {
		var err error
		if srv, err = server4.NewServer("dhcp0", &net.UDPAddr{Port: dhcpv4.ServerPort}, handler); err != nil {
			t.Fatal(err)
		}
	})
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return acks
	}
}

// syncBuffer is a bytes.Buffer for a process's output read while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
