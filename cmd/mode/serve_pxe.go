package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/mode-build/mode/boot/netboot"
	"github.com/mode-build/mode/boot/pxe"
	"github.com/mode-build/mode/registry/fleet"
	"github.com/urfave/cli/v3"
)

func pxeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "pxe", Usage: "boot PXE machines on network interface `IFACE` beside its DHCP server: proxyDHCP (UDP 67, 4011; never hands out addresses) and TFTP of Debian's iPXE (docs/network.md)"},
		&cli.BoolFlag{Name: "pxe-known", Usage: "with --pxe: answer only the machines the site knows (a mac: rule of --site-file names them, they sent a boot report, or an action waits for them)"},
	}
}

// startPXE starts the proxyDHCP and TFTP services of --pxe, which tell iPXE
// the boot.ipxe of the server listening on listen: at --advertise, else at
// the interface's address (which then becomes --advertise, so that
// boot.ipxe's URLs point where the machines are; derived returns it, ""
// when --advertise was given, for reloads: pxeAdvertise). stop ends them.
func startPXE(ctx context.Context, c *cli.Command, listen net.Addr, scheme string, fl *fleet.Fleet) (stop func(), derived string, err error) {
	iface := c.String("pxe")
	if iface == "" {
		if c.Bool("pxe-known") {
			return nil, "", errors.New("serve --pxe-known: only with --pxe IFACE")
		}
		return func() {}, "", nil
	}
	var known func(net.HardwareAddr) bool // nil: every PXE client
	if c.Bool("pxe-known") {
		known = func(mac net.HardwareAddr) bool { return fl.Knows(mac.String()) }
	}
	ip, err := pxe.InterfaceIP(iface)
	if err != nil {
		return nil, "", fmt.Errorf("serve --pxe: %w", err)
	}
	adv := c.String("advertise")
	if adv == "" {
		adv, derived = ip.String(), ip.String()
		if err := c.Set("advertise", adv); err != nil {
			return nil, "", err
		}
	}
	host, err := netboot.Advertise(adv, listen)
	if err != nil {
		return nil, "", err
	}
	s, err := pxe.Listen(pxe.Config{
		Interface:   iface,
		ScriptURL:   scheme + "://" + host + "/boot/boot.ipxe",
		HTTPBootURL: pxeHTTPBootURL(c, scheme, host),
		Logger:      slog.Default(),
		Known:       known,
	})
	if err != nil {
		return nil, "", fmt.Errorf("serve --pxe: %w", err)
	}
	fmt.Fprintf(os.Stderr, "mode: PXE on %s (%s): proxyDHCP and TFTP; iPXE gets %s\n", iface, ip, s.Proxy.ScriptURL)
	if u := s.Proxy.HTTPBootURL; u != "" {
		fmt.Fprintf(os.Stderr, "mode: UEFI HTTP boot (Secure Boot) gets %s\n", u)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Serve(ctx); err != nil {
			slog.Error("pxe stopped", "err", err)
		}
	}()
	return func() { s.Close(); <-done }, derived, nil
}

// pxeAdvertise gives next, a configuration read again on SIGHUP, the
// --advertise that --pxe derived at start (derived, "" for none) when next
// gives none: the PXE services keep serving that address until a restart,
// and boot.ipxe's URLs must keep pointing there.
func pxeAdvertise(next *cli.Command, derived string) error {
	if derived == "" || next.String("pxe") == "" || next.String("advertise") != "" {
		return nil
	}
	return next.Set("advertise", derived)
}
