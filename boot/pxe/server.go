package pxe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
)

// Ports of the PXE services.
const (
	DHCPPort = 67   // DHCPDISCOVER, broadcast: the proxy's DHCPOFFER
	PXEPort  = 4011 // the ProxyDHCPREQUEST, unicast to the proxy
	TFTPPort = 69
)

// Config is what Listen serves.
type Config struct {
	// Interface is the network interface the machines boot on: the proxy
	// answers there only, and its first IPv4 address is the server's.
	Interface string
	// ScriptURL is the URL iPXE is given: mode serve's
	// http://HOST:PORT/boot/boot.ipxe.
	ScriptURL string
	// Root is the TFTP root holding BIOSFile and UEFIFile; "" is a
	// temporary one with copies of those in IPXEDir (where Debian links
	// ipxe.efi to /boot, outside any root), removed by Close.
	Root string
	// HTTPBootURL is what UEFI HTTP boot clients get (Proxy.HTTPBootURL).
	HTTPBootURL string
	// Known, when not nil, limits the answers to the machines it accepts.
	Known        func(mac net.HardwareAddr) bool
	MaxTransfers int          // TFTP transfers at once (default DefaultMaxTransfers)
	Logger       *slog.Logger // nil: silent
}

// Server is a running proxyDHCP and TFTP service on one interface.
type Server struct {
	Proxy Proxy
	TFTP  *TFTP
	dhcp  net.PacketConn // UDP 67 on the interface
	pxe   net.PacketConn // UDP 4011 on the interface
	tftp  net.PacketConn // UDP 69 on the interface's address
	log   *slog.Logger
	once  sync.Once
	tmp   string // the temporary TFTP root
}

// Listen opens the sockets of the three services on c.Interface (root, or
// CAP_NET_BIND_SERVICE and CAP_NET_RAW). It does all its network lookups
// before returning: Serve only answers.
func Listen(c Config) (*Server, error) {
	ip, err := InterfaceIP(c.Interface)
	if err != nil {
		return nil, err
	}
	if c.ScriptURL == "" {
		return nil, errors.New("pxe: no ScriptURL")
	}
	s := &Server{Proxy: Proxy{ServerIP: ip, ScriptURL: c.ScriptURL, HTTPBootURL: c.HTTPBootURL, Known: c.Known}, log: c.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	root := c.Root
	if root == "" {
		if s.tmp, err = ipxeRoot(); err != nil {
			return nil, err
		}
		root = s.tmp
	}
	if s.TFTP, err = NewTFTP(root); err != nil {
		os.RemoveAll(s.tmp)
		return nil, err
	}
	s.TFTP.MaxTransfers, s.TFTP.Logger = c.MaxTransfers, c.Logger
	// The DHCP sockets are bound to the interface, SO_BROADCAST, shared
	// (SO_REUSEADDR/PORT) with a DHCP server on the same machine.
	// (Each conn is set only when opened: a nil *UDPConn in the interface
	// would not be nil to Close.)
	fail := func(err error) (*Server, error) {
		s.Close()
		return nil, fmt.Errorf("on %s: %w", c.Interface, err)
	}
	dhcp, err := server4.NewIPv4UDPConn(c.Interface, &net.UDPAddr{Port: DHCPPort})
	if err != nil {
		return fail(err)
	}
	s.dhcp = dhcp
	pxe, err := server4.NewIPv4UDPConn(c.Interface, &net.UDPAddr{Port: PXEPort})
	if err != nil {
		return fail(err)
	}
	s.pxe = pxe
	tftp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: ip, Port: TFTPPort})
	if err != nil {
		return fail(err)
	}
	s.tftp = tftp
	return s, nil
}

// Close stops the services.
func (s *Server) Close() error {
	s.once.Do(func() {
		for _, c := range []net.PacketConn{s.dhcp, s.pxe, s.tftp} {
			if c != nil {
				c.Close()
			}
		}
		s.TFTP.Close()
		if s.tmp != "" {
			os.RemoveAll(s.tmp)
		}
	})
	return nil
}

// InterfaceIP is the first IPv4 address of the interface name: the
// server's address for the machines on its network.
func InterfaceIP(name string) (net.IP, error) {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("interface %q: %w", name, err)
	}
	ips, err := dhcpv4.IPv4AddrsForInterface(ifc)
	if err != nil || len(ips) == 0 {
		return nil, fmt.Errorf("interface %s has no IPv4 address", name)
	}
	return ips[0], nil
}

// ipxeRoot is a temporary TFTP root with copies of Debian's iPXE.
func ipxeRoot() (string, error) {
	dir, err := os.MkdirTemp("", "mode-tftp-*")
	if err != nil {
		return "", err
	}
	for _, f := range []string{BIOSFile, UEFIFile} {
		b, err := os.ReadFile(filepath.Join(IPXEDir, f))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, f), b, 0o444)
		}
		if err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("%w (install ipxe)", err)
		}
	}
	return dir, nil
}

// Serve answers until ctx ends or Close is called; it closes the server.
func (s *Server) Serve(ctx context.Context) error {
	defer s.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.log.Info("pxe: proxyDHCP and TFTP", "server", s.Proxy.ServerIP, "ipxe", s.Proxy.ScriptURL)
	errc := make(chan error, 3)
	go func() { errc <- s.serveDHCP(ctx, s.dhcp, true) }()
	go func() { errc <- s.serveDHCP(ctx, s.pxe, false) }()
	go func() { errc <- s.TFTP.Serve(ctx, s.tftp) }()
	err := <-errc
	cancel()
	s.Close()
	<-errc
	<-errc
	return err
}

// serveDHCP answers the PXE clients that reach conn: DHCPDISCOVERs when
// discover (UDP 67), else ProxyDHCPREQUESTs (UDP 4011).
func (s *Server) serveDHCP(ctx context.Context, conn net.PacketConn, discover bool) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	port := conn.LocalAddr().(*net.UDPAddr).Port
	buf := make([]byte, 1500)
	for {
		n, peer, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("pxe: udp %d: %w", port, err)
		}
		req, err := dhcpv4.FromBytes(buf[:n])
		if err != nil {
			continue
		}
		// UDP 67 answers discovers only (requests there are for the
		// DHCP server), UDP 4011 the ProxyDHCPREQUEST.
		if discover != (req.MessageType() == dhcpv4.MessageTypeDiscover) {
			continue
		}
		resp, err := s.Proxy.Answer(req)
		if err != nil {
			s.log.Debug("pxe: no answer", "mac", req.ClientHWAddr.String(), "port", port, "why", err)
			continue
		}
		to := replyAddr(req, peer.(*net.UDPAddr), discover)
		if _, err := conn.WriteTo(resp.ToBytes(), to); err != nil {
			s.log.Warn("pxe: answer not sent", "mac", req.ClientHWAddr.String(), "to", to, "err", err)
			continue
		}
		s.log.Info("pxe: answered", "mac", req.ClientHWAddr.String(), "type", resp.MessageType(), "file", resp.BootFileName+resp.BootFileNameOption())
	}
}

// replyAddr is where an answer to req goes: a relay agent's address, the
// client's when it has one, else the broadcast address.
func replyAddr(req *dhcpv4.DHCPv4, peer *net.UDPAddr, discover bool) *net.UDPAddr {
	switch {
	case !req.GatewayIPAddr.IsUnspecified() && req.GatewayIPAddr != nil:
		return &net.UDPAddr{IP: req.GatewayIPAddr, Port: dhcpv4.ServerPort}
	case !discover && !peer.IP.IsUnspecified():
		return peer
	case !req.ClientIPAddr.IsUnspecified() && req.ClientIPAddr != nil:
		return &net.UDPAddr{IP: req.ClientIPAddr, Port: dhcpv4.ClientPort}
	}
	return &net.UDPAddr{IP: net.IPv4bcast, Port: dhcpv4.ClientPort}
}
