package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/mode-build/mode/boot/netboot"
	"github.com/mode-build/mode/boot/pxe"
	"github.com/urfave/cli/v3"
)

func pxeFlag() cli.Flag {
	return &cli.StringFlag{Name: "pxe", Usage: "boot PXE machines on network interface `IFACE` beside its DHCP server: proxyDHCP (UDP 67, 4011; never hands out addresses) and TFTP of Debian's iPXE (docs/network.md)"}
}

// startPXE starts the proxyDHCP and TFTP services of --pxe, which tell iPXE
// the boot.ipxe of the server listening on listen: at --advertise, else at
// the interface's address (which then becomes --advertise, so that
// boot.ipxe's URLs point where the machines are; derived returns it, ""
// when --advertise was given, for reloads: pxeAdvertise). stop ends them.
func startPXE(ctx context.Context, c *cli.Command, listen net.Addr, scheme string) (stop func(), derived string, err error) {
	iface := c.String("pxe")
	if iface == "" {
		return func() {}, "", nil
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
		Interface: iface,
		ScriptURL: scheme + "://" + host + "/boot/boot.ipxe",
		Logger:    slog.Default(),
		// Known: nil answers every PXE client (the fleet rules may narrow it).
	})
	if err != nil {
		return nil, "", fmt.Errorf("serve --pxe: %w", err)
	}
	fmt.Fprintf(os.Stderr, "mode: PXE on %s (%s): proxyDHCP and TFTP; iPXE gets %s\n", iface, ip, s.Proxy.ScriptURL)
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
