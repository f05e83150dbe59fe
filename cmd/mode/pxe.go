package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"

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
// boot.ipxe's URLs point where the machines are). stop ends them.
func startPXE(ctx context.Context, c *cli.Command, listen net.Addr, scheme string) (stop func(), err error) {
	iface := c.String("pxe")
	if iface == "" {
		return func() {}, nil
	}
	cfg := pxe.Config{Interface: iface, Logger: slog.Default()} // Known: every machine (fleet rules may narrow it)
	if adv := c.String("advertise"); adv != "" {
		host, err := netboot.Advertise(adv, listen)
		if err != nil {
			return nil, err
		}
		cfg.ScriptURL = scheme + "://" + host + "/boot/boot.ipxe"
	}
	_, port, _ := net.SplitHostPort(listen.String())
	cfg.HTTPPort, _ = strconv.Atoi(port)
	s, err := pxe.Listen(cfg)
	if err != nil {
		return nil, fmt.Errorf("serve --pxe: %w", err)
	}
	if c.String("advertise") == "" {
		if err := c.Set("advertise", s.Proxy.ServerIP.String()); err != nil {
			s.Close()
			return nil, err
		}
		if scheme != "http" {
			s.Proxy.ScriptURL = scheme + "://" + net.JoinHostPort(s.Proxy.ServerIP.String(), port) + "/boot/boot.ipxe"
		}
	}
	fmt.Fprintf(os.Stderr, "mode: PXE on %s (%s): proxyDHCP and TFTP; iPXE gets %s\n", iface, s.Proxy.ServerIP, s.Proxy.ScriptURL)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Serve(ctx); err != nil {
			slog.Error("pxe stopped", "err", err)
		}
	}()
	return func() { s.Close(); <-done }, nil
}
