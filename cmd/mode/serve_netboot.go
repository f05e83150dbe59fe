package main

import (
	"fmt"
	"log/slog"
	"net"

	"github.com/mode-build/mode/boot/netboot"
	"github.com/mode-build/mode/registry/store"
	"github.com/urfave/cli/v3"
)

// netbootHandler serves /boot/ for mode serve (netboot.New, from its flags):
// the kernel and initramfs are fetched and built on the first request, not
// before. cleanup removes the initramfs built.
func netbootHandler(c *cli.Command, s *store.Store, listen net.Addr, more func(*netboot.Options)) (nb *netboot.Server, cleanup func(), err error) {
	ms, err := mirrors(c)
	if err != nil {
		return nil, nil, fmt.Errorf("serve %w", err)
	}
	sb, err := secureBootSigner(c)
	if err != nil {
		return nil, nil, err
	}
	o := netboot.Options{
		SecureBoot:    sb,
		Mirrors:       ms,
		Kernel:        c.String("kernel"),
		KernelDir:     kernelDir(),
		KernelModules: c.String("kernel-modules"),
		Initrd:        c.String("initrd"),
		Trust:         c.StringSlice("trust"),
		Chain:         c.String("boot-chain"),
		Advertise:     c.String("advertise"),
		PushToken:     c.String("push-token"),
		Built:         reportInitramfs,
		Arch:          serveArchBoot(), // serve_arch.go
		Logger:        slog.Default(),
	}
	if more != nil {
		more(&o)
	}
	nb, err = netboot.New(s, listen, o)
	if err != nil {
		return nil, nil, fmt.Errorf("serve: %w", err)
	}
	if adv := nb.Config.Advertise; adv != "" && netboot.Unreachable(listen, adv) {
		slog.Warn("listening on loopback, which machines told the advertised address cannot reach: listen with --addr 0.0.0.0:PORT", "listen", listen.String(), "advertise", adv)
	}
	return nb, func() { nb.Close() }, nil
}
