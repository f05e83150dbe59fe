package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/mode-build/mode/boot/netboot"
	"github.com/mode-build/mode/registry/fleet"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/report"
	"github.com/urfave/cli/v3"
)

// fleetFlags are mode serve's flags of the fleet (docs/fleet.md).
func fleetFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "site-file", Usage: "which machine boots what: the rules in this YAML `FILE`, reloaded when it changes (docs/fleet.md)"},
		&cli.StringFlag{Name: "admin-token", Usage: "accept next-boot actions (POST /api/fleet/…/actions, mode site action) that present this bearer `TOKEN`", Sources: cli.EnvVars("MODE_ADMIN_TOKEN")},
		&cli.StringFlag{Name: "boot-addr", Usage: "with --tls: serve /boot/ (boot.ipxe, kernel, initramfs) over plain HTTP on `HOST:PORT` too, for an iPXE that cannot check the site CA"},
	}
}

// fleetReload is how often mode serve looks at the site file's time.
const fleetReload = 2 * time.Second

// newFleet opens the fleet of mode serve: its rules (a bad site file fails
// the start; later a bad edit keeps the last good rules) and its machines
// and actions in STORE/fleet.json. It watches the site file until ctx ends.
func newFleet(ctx context.Context, c *cli.Command, s *store.Store) (*fleet.Fleet, error) {
	opts := []fleet.Option{fleet.WithState(filepath.Join(s.Dir(), "fleet.json")), fleet.WithLogger(slog.Default())}
	if f := c.String("site-file"); f != "" {
		opts = append(opts, fleet.WithSiteFile(f, s))
	}
	fl, err := fleet.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("serve --site-file: %w", err)
	}
	go fl.Watch(ctx, fleetReload)
	return fl, nil
}

// fleetChooser picks each machine's boot in boot.ipxe: its pending action,
// else its rule; nil (the --boot-chain) when the fleet has neither.
func fleetChooser(fl *fleet.Fleet) netboot.Chooser {
	return func(m netboot.Machine) (*netboot.Choice, error) {
		b, err := fl.BootIPXE(fleet.Machine{MAC: m.MAC, UUID: m.UUID, Serial: m.Serial, Hostname: m.Hostname})
		if errors.Is(err, fleet.ErrNoRule) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		slog.Info("boot.ipxe", "machine", m.MAC, "why", b.Why)
		return &netboot.Choice{Local: b.Local, Repo: b.Repo, Ref: b.Ref, Args: b.Args, KernelRepo: b.KernelRepo, KernelRef: b.KernelRef}, nil
	}
}

// fleetNoCloud serves the machines' cloud-init NoCloud seeds under /boot/
// (docs/fleet.md), each to the machine with its token; nil without a push
// token (no machine tokens).
func fleetNoCloud(fl *fleet.Fleet, pushToken string) http.Handler {
	if pushToken == "" {
		return nil
	}
	return fl.MachineHandler(func(mac string) string { return report.MachineToken(pushToken, mac) })
}

// bootListener serves /boot/ alone over plain HTTP beside a TLS site
// (--boot-addr): boot.ipxe there fetches the kernel and initramfs over plain
// HTTP and the chain over HTTPS, checked with the CA in the initramfs.
func bootListener(ctx context.Context, addr string, cfg netboot.Config, advertise string) (net.Listener, error) {
	if advertise == "" {
		return nil, errors.New("serve --boot-addr: machines need the site's address: give --advertise HOST[:PORT]")
	}
	cfg.Registry = advertise
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serve --boot-addr: %w", err)
	}
	host, _, _ := net.SplitHostPort(advertise)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	cfg.Advertise = net.JoinHostPort(host, port)
	cfg.Files = "http://" + cfg.Advertise
	srv := &http.Server{Handler: netboot.Handler(cfg), ReadHeaderTimeout: 30 * time.Second}
	go srv.Serve(ln)
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	fmt.Fprintf(os.Stderr, "mode: /boot/ over plain HTTP on %s (boot.ipxe: http://%s/boot/boot.ipxe)\n", ln.Addr(), cfg.Advertise)
	return ln, nil
}
