package modeinit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/u-root/u-root/pkg/dhclient"
	"github.com/vishvananda/netlink"
)

// network brings up loopback and the first Ethernet interface: by DHCP, or as
// ip= says (the kernel's nfsroot syntax:
// ip=CLIENT:SERVER:GATEWAY:NETMASK:HOSTNAME:DEVICE:AUTOCONF:DNS0:DNS1).
func (b *boot) network() (string, error) {
	if lo, err := netlink.LinkByName("lo"); err == nil {
		_ = netlink.LinkSetUp(lo)
	}
	cfg, err := parseIP(b.p.ip)
	if err != nil {
		return "", err
	}
	if cfg.off {
		return "network off (ip=" + b.p.ip + ")", nil
	}
	links, err := waitLinks(cfg.device, b.netDrivers, 5*time.Second)
	if err != nil {
		return "", err
	}
	if cfg.static() {
		return b.staticIP(links[0], cfg)
	}
	return b.dhcp(links)
}

// waitLinks waits for network interfaces named device (any Ethernet one when
// empty) to appear: the first one found is taken at once, while the network
// drivers may still be loading; after drivers is closed (nil: already), it
// waits d more.
func waitLinks(device string, drivers <-chan struct{}, d time.Duration) ([]netlink.Link, error) {
	re := "^(eth|en)"
	if device != "" {
		re = "^" + device + "$"
	}
	var deadline time.Time
	for {
		links, err := dhclient.Interfaces(re)
		if err == nil {
			return links, nil
		}
		if deadline.IsZero() {
			select {
			case <-drivers:
				deadline = time.Now().Add(d)
			default:
			}
			if drivers == nil {
				deadline = time.Now().Add(d)
			}
		} else if time.Now().After(deadline) {
			return nil, fmt.Errorf("no network interface (%w): is there a NIC whose driver the initramfs carries?", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *boot) dhcp(links []netlink.Link) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := dhclient.Config{Timeout: 5 * time.Second, Retries: 3}
	var errs []error
	for r := range dhclient.SendRequests(ctx, links, true, false, c, 10*time.Second) {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Interface.Attrs().Name, r.Err))
			continue
		}
		if err := r.Lease.Configure(); err != nil {
			errs = append(errs, fmt.Errorf("%s: configure: %w", r.Interface.Attrs().Name, err))
			continue
		}
		addr := ""
		if p, ok := r.Lease.(*dhclient.Packet4); ok {
			ns, sl, dom := p.GatherDNSSettings()
			_ = dhclient.WriteDNSSettings(ns, sl, dom, "/etc/resolv.conf")
			addr = p.Lease().String()
		}
		return fmt.Sprintf("%s: %s by DHCP", r.Interface.Attrs().Name, addr), nil
	}
	if len(errs) == 0 {
		errs = append(errs, errors.New("no interface came up"))
	}
	return "", fmt.Errorf("DHCP: %w", errors.Join(errs...))
}

// ipConfig is a parsed ip= parameter.
type ipConfig struct {
	off                    bool
	client, gateway        net.IP
	mask                   net.IPMask
	device                 string
	dns                    []net.IP
	autoconf               string
	server, hostname, spec string
}

func (c ipConfig) static() bool { return c.client != nil }

// parseIP parses ip=: empty, dhcp, on or any mean DHCP; off or none mean no
// network; otherwise the colon-separated static form.
func parseIP(s string) (ipConfig, error) {
	c := ipConfig{spec: s}
	switch s {
	case "", "dhcp", "on", "any", "both":
		return c, nil
	case "off", "none":
		c.off = true
		return c, nil
	}
	f := strings.Split(s, ":")
	for len(f) < 9 {
		f = append(f, "")
	}
	c.device, c.autoconf, c.hostname = f[5], f[6], f[4]
	if f[0] == "" {
		if c.autoconf == "off" || c.autoconf == "none" {
			c.off = true
		}
		return c, nil // DHCP, possibly on a given device
	}
	if c.client = net.ParseIP(f[0]).To4(); c.client == nil {
		return c, fmt.Errorf("ip=%s: bad client address %q", s, f[0])
	}
	if f[2] != "" {
		if c.gateway = net.ParseIP(f[2]).To4(); c.gateway == nil {
			return c, fmt.Errorf("ip=%s: bad gateway %q", s, f[2])
		}
	}
	c.mask = c.client.DefaultMask()
	if f[3] != "" {
		m := net.ParseIP(f[3]).To4()
		if m == nil {
			return c, fmt.Errorf("ip=%s: bad netmask %q", s, f[3])
		}
		c.mask = net.IPMask(m)
	}
	for _, d := range f[7:9] {
		if d != "" {
			ip := net.ParseIP(d)
			if ip == nil {
				return c, fmt.Errorf("ip=%s: bad DNS server %q", s, d)
			}
			c.dns = append(c.dns, ip)
		}
	}
	return c, nil
}

func (b *boot) staticIP(l netlink.Link, c ipConfig) (string, error) {
	name := l.Attrs().Name
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: c.client, Mask: c.mask}}
	if err := netlink.AddrAdd(l, addr); err != nil {
		return "", fmt.Errorf("ip=%s: address on %s: %w", c.spec, name, err)
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return "", fmt.Errorf("ip=%s: up %s: %w", c.spec, name, err)
	}
	if c.gateway != nil {
		r := &netlink.Route{LinkIndex: l.Attrs().Index, Gw: c.gateway}
		if err := netlink.RouteAdd(r); err != nil {
			return "", fmt.Errorf("ip=%s: default route via %s: %w", c.spec, c.gateway, err)
		}
	}
	if len(c.dns) > 0 {
		var lines []string
		for _, d := range c.dns {
			lines = append(lines, "nameserver "+d.String())
		}
		_ = os.WriteFile("/etc/resolv.conf", []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	}
	return fmt.Sprintf("%s: %s/%d (ip=)", name, c.client, maskBits(c.mask)), nil
}

func maskBits(m net.IPMask) int {
	n, _ := m.Size()
	return n
}
