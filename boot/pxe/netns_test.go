package pxe

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/mode-build/mode/internal/testutil"
	"golang.org/x/sys/unix"
)

// netns creates a network namespace that the test deletes at its end.
func netns(t *testing.T, name string) string {
	t.Helper()
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	run(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// inNetns runs f on a thread in the namespace name: the sockets f opens
// live there. f must not start goroutines that open sockets.
func inNetns(t *testing.T, name string, f func()) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	ns, err := os.Open(filepath.Join("/run/netns", name))
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
			panic(fmt.Sprintf("back to the test's network namespace: %v", err)) // the thread is unusable
		}
	}()
	f()
}

// twoHosts is a server namespace (pxe0, 10.231.0.1/24) and a client
// namespace (pxe1, 10.231.0.2/24) joined by a veth pair: no address outside
// them, deleted at the end.
func twoHosts(t *testing.T) (server, client string) {
	testutil.RequiresRoot(t)
	testutil.RequiresTools(t, "ip")
	server = netns(t, fmt.Sprintf("mode-pxe-s%d", os.Getpid()))
	client = netns(t, fmt.Sprintf("mode-pxe-c%d", os.Getpid()))
	run(t, "ip", "link", "add", "pxe0", "netns", server, "type", "veth", "peer", "name", "pxe1", "netns", client)
	run(t, "ip", "-n", server, "addr", "add", "10.231.0.1/24", "dev", "pxe0")
	run(t, "ip", "-n", client, "addr", "add", "10.231.0.2/24", "dev", "pxe1")
	run(t, "ip", "-n", server, "link", "set", "pxe0", "up")
	run(t, "ip", "-n", client, "link", "set", "pxe1", "up")
	return server, client
}

// TestProxyDHCPInNetns runs Listen's server in a namespace and a PXE client
// in another: plain PXE ROMs (BIOS, UEFI) get iPXE and the next-server, iPXE
// gets the boot.ipxe URL, a plain DHCP client gets no answer, the
// ProxyDHCPREQUEST on UDP 4011 gets its ACK from port 4011, and TFTP over the
// link sends Debian's iPXE byte-identical.
func TestProxyDHCPInNetns(t *testing.T) {
	testutil.RequiresTools(t, "ip")
	for _, f := range []string{BIOSFile, UEFIFile} {
		if _, err := os.Stat(filepath.Join(IPXEDir, f)); err != nil {
			t.Fatalf("%v: install ipxe (make deps)", err)
		}
	}
	serverNS, clientNS := twoHosts(t)
	var srv *Server
	inNetns(t, serverNS, func() {
		var err error
		srv, err = Listen(Config{Interface: "pxe0", ScriptURL: "http://10.231.0.1:5000/boot/boot.ipxe"})
		if err != nil {
			t.Fatal(err)
		}
	})
	// Transfers open their sockets later, on other threads: in the
	// server's namespace too.
	srv.TFTP.listen = func(ip net.IP) (c *net.UDPConn, err error) {
		inNetns(t, serverNS, func() { c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: ip}) })
		return c, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	server := net.IPv4(10, 231, 0, 1).To4()
	url := "http://10.231.0.1:5000/boot/boot.ipxe"

	var dhcpc, tftpc *net.UDPConn
	inNetns(t, clientNS, func() {
		var err error
		if dhcpc, err = server4.NewIPv4UDPConn("pxe1", &net.UDPAddr{Port: dhcpv4.ClientPort}); err != nil {
			t.Fatal(err)
		}
		if tftpc, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 231, 0, 2)}); err != nil {
			t.Fatal(err)
		}
	})
	defer dhcpc.Close()
	defer tftpc.Close()

	xid := byte(0)
	ask := func(t *testing.T, req *dhcpv4.DHCPv4, to *net.UDPAddr) (*dhcpv4.DHCPv4, *net.UDPAddr) {
		t.Helper()
		// A plain DHCP discover first: the proxy answers in order, so an
		// answer to it would come before the one to req.
		xid++
		plain := pxeRequest(dhcpv4.MessageTypeDiscover, testMAC)
		plain.TransactionID = dhcpv4.TransactionID{9, 9, 9, xid}
		if _, err := dhcpc.WriteTo(plain.ToBytes(), &net.UDPAddr{IP: net.IPv4bcast, Port: DHCPPort}); err != nil {
			t.Fatal(err)
		}
		req.TransactionID = dhcpv4.TransactionID{1, 1, 1, xid}
		if _, err := dhcpc.WriteTo(req.ToBytes(), to); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1500)
		for {
			dhcpc.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, from, err := dhcpc.ReadFrom(buf)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			resp, err := dhcpv4.FromBytes(buf[:n])
			if err != nil || resp.OpCode != dhcpv4.OpcodeBootReply {
				continue
			}
			if resp.TransactionID == plain.TransactionID {
				t.Fatalf("the proxy answered a plain DHCP client: %s", resp.Summary())
			}
			if resp.TransactionID == req.TransactionID {
				return resp, from.(*net.UDPAddr)
			}
		}
	}
	bcast := &net.UDPAddr{IP: net.IPv4bcast, Port: DHCPPort}
	unicast := &net.UDPAddr{IP: server, Port: PXEPort}
	for _, tc := range []struct {
		name     string
		req      *dhcpv4.DHCPv4
		to       *net.UDPAddr
		typ      dhcpv4.MessageType
		file     string
		fromPort int
	}{
		{"BIOS PXE ROM", pxeRequest(dhcpv4.MessageTypeDiscover, testMAC, pxeClient(iana.INTEL_X86PC)), bcast, dhcpv4.MessageTypeOffer, BIOSFile, DHCPPort},
		{"UEFI PXE", pxeRequest(dhcpv4.MessageTypeDiscover, testMAC, pxeClient(iana.EFI_X86_64)), bcast, dhcpv4.MessageTypeOffer, UEFIFile, DHCPPort},
		{"iPXE", pxeRequest(dhcpv4.MessageTypeDiscover, testMAC, pxeClient(iana.INTEL_X86PC), ipxe), bcast, dhcpv4.MessageTypeOffer, url, DHCPPort},
		{"UEFI ProxyDHCPREQUEST", pxeRequest(dhcpv4.MessageTypeRequest, testMAC, pxeClient(iana.EFI_X86_64),
			dhcpv4.WithClientIP(net.IPv4(10, 231, 0, 2))), unicast, dhcpv4.MessageTypeAck, UEFIFile, PXEPort},
		{"iPXE ProxyDHCPREQUEST", pxeRequest(dhcpv4.MessageTypeRequest, testMAC, pxeClient(iana.INTEL_X86PC), ipxe,
			dhcpv4.WithClientIP(net.IPv4(10, 231, 0, 2))), unicast, dhcpv4.MessageTypeAck, url, PXEPort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, from := ask(t, tc.req, tc.to)
			checkAnswer(t, resp, tc.req, tc.typ, tc.file, server)
			if !from.IP.Equal(server) || from.Port != tc.fromPort {
				t.Errorf("answer from %s, want %s:%d", from, server, tc.fromPort)
			}
		})
	}
	for _, tc := range []struct {
		name string
		opts []string
	}{{"TFTP", nil}, {"TFTP blksize 1468", []string{"blksize", "1468", "tsize", "0"}}} {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range []string{BIOSFile, UEFIFile} {
				got, _, err := tftpGet(tftpc, &net.UDPAddr{IP: server, Port: TFTPPort}, f, tc.opts...)
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				want, _ := os.ReadFile(filepath.Join(IPXEDir, f))
				if !bytes.Equal(got, want) {
					t.Errorf("%s: %d bytes, want %s's %d, byte-identical", f, len(got), IPXEDir, len(want))
				}
			}
		})
	}
	t.Run("TFTP path escaping the root", func(t *testing.T) {
		_, _, err := tftpGet(tftpc, &net.UDPAddr{IP: server, Port: TFTPPort}, "../../etc/passwd")
		if te, ok := err.(*tftpError); !ok || te.code != errAccess {
			t.Errorf("got %v, want an access violation", err)
		}
	})
}

// TestTwoProxies: two proxies on one bridge (each in its namespace) answer
// a PXE client the same boot file, each naming itself next-server, and
// neither offers an address: a second proxy changes nothing for clients.
func TestTwoProxies(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresTools(t, "ip")
	pid := os.Getpid()
	hub := netns(t, fmt.Sprintf("mode-pxe-hub%d", pid))
	run(t, "ip", "-n", hub, "link", "add", "br0", "type", "bridge")
	run(t, "ip", "-n", hub, "link", "set", "br0", "up")
	hosts := map[string]string{"a": "10.231.1.1", "b": "10.231.1.3", "c": "10.231.1.2"}
	ns := map[string]string{}
	for _, h := range []string{"a", "b", "c"} {
		ns[h] = netns(t, fmt.Sprintf("mode-pxe-%s%d", h, pid))
		run(t, "ip", "link", "add", "hub-"+h, "netns", hub, "type", "veth", "peer", "name", "pxe0", "netns", ns[h])
		run(t, "ip", "-n", hub, "link", "set", "hub-"+h, "master", "br0", "up")
		run(t, "ip", "-n", ns[h], "addr", "add", hosts[h]+"/24", "dev", "pxe0")
		run(t, "ip", "-n", ns[h], "link", "set", "pxe0", "up")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, h := range []string{"a", "b"} {
		var srv *Server
		inNetns(t, ns[h], func() {
			var err error
			if srv, err = Listen(Config{Interface: "pxe0", ScriptURL: testURL}); err != nil {
				t.Fatal(err)
			}
		})
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	var c *net.UDPConn
	inNetns(t, ns["c"], func() {
		var err error
		if c, err = server4.NewIPv4UDPConn("pxe0", &net.UDPAddr{Port: dhcpv4.ClientPort}); err != nil {
			t.Fatal(err)
		}
	})
	defer c.Close()
	for _, arch := range []iana.Arch{iana.INTEL_X86PC, iana.EFI_X86_64} {
		req := pxeRequest(dhcpv4.MessageTypeDiscover, testMAC, pxeClient(arch))
		req.TransactionID[3] = byte(arch)
		if _, err := c.WriteTo(req.ToBytes(), &net.UDPAddr{IP: net.IPv4bcast, Port: DHCPPort}); err != nil {
			t.Fatal(err)
		}
		file := map[iana.Arch]string{iana.INTEL_X86PC: BIOSFile, iana.EFI_X86_64: UEFIFile}[arch]
		got := map[string]bool{}
		buf := make([]byte, 1500)
		for len(got) < 2 {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				t.Fatalf("arch %v: answers from %v only: %v", arch, got, err)
			}
			resp, err := dhcpv4.FromBytes(buf[:n])
			if err != nil || resp.TransactionID != req.TransactionID {
				continue
			}
			server := resp.ServerIdentifier()
			checkAnswer(t, resp, req, dhcpv4.MessageTypeOffer, file, server)
			if !server.Equal(net.ParseIP(hosts["a"])) && !server.Equal(net.ParseIP(hosts["b"])) {
				t.Errorf("answer from %s", server)
			}
			got[server.String()] = true
		}
	}
}

// TestListenPortTaken: when a port is taken, Listen fails naming the
// interface (closing what it opened: no panic on the conns it did not open),
// and leaves no temporary TFTP root behind.
func TestListenPortTaken(t *testing.T) {
	serverNS, _ := twoHosts(t)
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "mode-tftp-*"))
	inNetns(t, serverNS, func() {
		taken, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 231, 0, 1), Port: TFTPPort})
		if err != nil {
			t.Fatal(err)
		}
		defer taken.Close()
		s, err := Listen(Config{Interface: "pxe0", ScriptURL: testURL})
		if err == nil {
			s.Close()
			t.Fatal("Listen took a port in use")
		}
		if !strings.Contains(err.Error(), "on pxe0") {
			t.Errorf("error %v does not name the interface", err)
		}
	})
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "mode-tftp-*"))
	if len(after) > len(before) {
		t.Errorf("temporary TFTP roots left: %v", after)
	}
}
