package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/mode-build/mode/boot/netboot"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/site"
	"github.com/mode-build/mode/registry/store"
	"github.com/urfave/cli/v3"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve the store over the OCI distribution API",
		Description: "The embedded registry for netboot and one-machine use: /v2/, repositories,\n" +
			"manifests, blobs (Range, ETag), uploads, tags list, catalog and referrers, read by\n" +
			"anyone who can connect. Pushes and deletes need --push-token. Prints the URL it\n" +
			"listens on. SIGHUP reloads --config and the TLS certificate; SIGTERM stops it once\n" +
			"the requests under way are done (at most --grace).",
		Flags: append([]cli.Flag{
			storeFlag(),
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:5000", Usage: "listen on `HOST:PORT`"},
			&cli.StringFlag{Name: "boot-chain", Usage: "the chain ([REPO:]TAG) /boot/boot.ipxe boots by default (netboot)"},
			&cli.StringSliceFlag{Name: "mirror", Usage: "boot.ipxe tells machines to try the registry `HOST[:PORT]` before this server (mode.mirrors; repeatable)"},
			&cli.StringFlag{Name: "kernel", Usage: "the kernel `FILE` served as /boot/vmlinuz (default: Debian's cloud kernel, fetched on first use)"},
			&cli.StringFlag{Name: "kernel-modules", Usage: "linux-image `DEB` or modules directory matching --kernel"},
			&cli.StringFlag{Name: "initrd", Usage: "the initramfs `FILE` served as /boot/initrd.img (default: built on first use)"},
			&cli.StringSliceFlag{Name: "trust", Usage: "the built /boot/initrd.img boots only chains signed by public `KEY.pub` (repeatable; docs/trust.md)"},
			&cli.StringFlag{Name: "push-token", Usage: "accept pushes and deletes that present this bearer `TOKEN`", Sources: cli.EnvVars("MODE_PUSH_TOKEN")},
			&cli.BoolFlag{Name: "insecure", Usage: "accept the push token over plain HTTP from other machines (default: HTTPS or loopback only)"},
			&cli.IntFlag{Name: "max-uploads", Value: serve.DefaultLimits.Uploads, Usage: "upload sessions open at once"},
			&cli.DurationFlag{Name: "upload-expiry", Value: serve.DefaultLimits.UploadExpiry, Usage: "remove an upload session untouched for `DURATION`"},
			&cli.StringFlag{Name: "advertise", Usage: "tell machines (boot.ipxe) to reach this server at `HOST[:PORT]` (default: the default route's interface address, the listening port)"},
			&cli.StringFlag{Name: "reports-db", Usage: "keep boot reports in this bbolt `FILE` (default: STORE/reports.db)"},
			&cli.IntFlag{Name: "max-reports", Value: site.DefaultMaxReports, Usage: "keep at most `N` reports, dropping the oldest"},
			&cli.DurationFlag{Name: "idle-timeout", Value: serve.DefaultLimits.Idle, Usage: "cut a connection idle, or a transfer stalled, for `DURATION`"},
			&cli.StringFlag{Name: "tls", Usage: "\"auto\": HTTPS with a site CA kept in STORE/tls (made on first use) and a server certificate for this machine's names and addresses"},
			&cli.StringFlag{Name: "tls-cert", Usage: "HTTPS with the certificate (chain) in `FILE`"},
			&cli.StringFlag{Name: "tls-key", Usage: "the private key `FILE` of --tls-cert"},
			&cli.StringSliceFlag{Name: "tls-name", Usage: "one more `NAME` or address for the --tls auto certificate"},
			&cli.StringFlag{Name: "config", Usage: "read flags from the YAML `FILE` (keys: the flag names; the command line wins); SIGHUP reads it again (docs/service.md)"},
			&cli.DurationFlag{Name: "grace", Value: 30 * time.Second, Usage: "on SIGTERM, let the requests under way finish for at most `DURATION`"},
		}, append(append(pxeFlags(), fleetFlags()...), secureBootFlags()...)...),
		Before: serveConfig,
		Action: func(ctx context.Context, c *cli.Command) error {
			slog.SetDefault(serveLogger(c, os.Stderr))
			hup := make(chan os.Signal, 1) // from now on SIGHUP reloads, and no longer kills
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			s, err := store.Open(c.String("store"))
			if err != nil {
				return err
			}
			tlsConfig, err := serveTLS(c, s.Dir())
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", c.String("addr"))
			if err != nil {
				return err
			}
			scheme := map[bool]string{false: "http", true: "https"}[tlsConfig != nil]
			fl, err := newFleet(ctx, c, s)
			if err != nil {
				return err
			}
			defer fl.Flush()                                                // the machines' last requests and reports, once served
			stopPXE, pxeAdv, err := startPXE(ctx, c, ln.Addr(), scheme, fl) // before the netboot handler: it may set --advertise
			if err != nil {
				return err
			}
			defer stopPXE()
			l := &liveServe{args: serveArgs(os.Args), cur: c, store: s, listen: ln.Addr(), pxeAdvertise: pxeAdv}
			l.bootMore = func(o *netboot.Options) {
				o.Choose, o.Secure, o.NoCloud = fleetChooser(fl), tlsConfig != nil, fleetNoCloud(fl, o.PushToken)
				if c.String("tls") == "auto" { // the init verifies the site's HTTPS: no mode.insecure
					o.SiteCA = filepath.Join(s.Dir(), "tls", serve.CACertFile)
				}
			}
			defer l.cleanup()
			if err := l.setBoot(c); err != nil {
				return err
			}
			if ba := c.String("boot-addr"); ba != "" && tlsConfig == nil {
				return errors.New("serve --boot-addr: only with --tls (without it /boot/ is plain HTTP already)")
			} else if ba != "" {
				if _, err := bootListener(ctx, ba, l.bootCfg, l.bootCfg.Advertise); err != nil {
					return err
				}
			}
			st, closeSite, err := newSite(c, s, fl)
			if err != nil {
				return err
			}
			defer closeSite()
			install := &installImages{store: s, boot: &l.boot, pushToken: c.String("push-token")} // docs/fleet.md, install to disk
			defer install.close()
			sv := serve.New(s, serve.WithHandler("/", st.Handler()), serve.WithMiddleware(st.Instrument), serve.WithPushToken(c.String("push-token")), serve.WithLogger(slog.Default()),
				serve.WithInsecure(c.Bool("insecure")), serve.WithHandler("/boot/", &l.boot), serve.WithHandler("/boot/install/", install),
				serve.WithLimits(serveLimits(c)))
			l.sv, l.site = sv, st
			srv, scheme := sv.HTTPServer(), "http"
			if tlsConfig != nil {
				srv.TLSConfig, scheme = l.cert.config(tlsConfig), "https"
			}
			warnPlainHTTP(c, tlsConfig != nil)
			return l.run(ctx, ln, srv, scheme, hup)
		},
	}
}

// serveLimits are the limits --max-uploads, --upload-expiry and --idle-timeout ask for.
func serveLimits(c *cli.Command) serve.Limits {
	return serve.Limits{Uploads: c.Int("max-uploads"), UploadExpiry: c.Duration("upload-expiry"), Idle: c.Duration("idle-timeout")}
}

// warnPlainHTTP says when other machines' pushes will be refused.
func warnPlainHTTP(c *cli.Command, tls bool) {
	if host, _, _ := net.SplitHostPort(c.String("addr")); !tls && c.String("push-token") != "" && !c.Bool("insecure") &&
		!loopbackHost(host) {
		slog.Warn("plain HTTP: other machines' pushes are refused (the token would cross the network in clear); use --tls auto, or --insecure to accept them")
	}
}

// serveTLS is the TLS configuration that --tls, --tls-cert and --tls-key ask
// for, or nil for plain HTTP.
func serveTLS(c *cli.Command, storeDir string) (*tls.Config, error) {
	cert, key := c.String("tls-cert"), c.String("tls-key")
	switch mode := c.String("tls"); {
	case mode != "" && mode != "auto":
		return nil, fmt.Errorf("serve: --tls %q: the only value is auto (or give --tls-cert and --tls-key)", mode)
	case mode == "auto" && (cert != "" || key != ""):
		return nil, errors.New("serve: --tls auto and --tls-cert/--tls-key exclude each other")
	case mode == "auto":
		dir := filepath.Join(storeDir, "tls")
		cfg, err := serve.AutoTLS(dir, serve.SiteNames(c.String("addr"), c.StringSlice("tls-name")...))
		if err != nil {
			return nil, err
		}
		slog.Info("HTTPS with the site CA (mode initramfs --ca, mode push/pull --ca)", "ca", filepath.Join(dir, serve.CACertFile))
		return cfg, nil
	case cert != "" || key != "":
		if cert == "" || key == "" {
			return nil, errors.New("serve: --tls-cert and --tls-key go together")
		}
		return serve.LoadTLS(cert, key)
	}
	return nil, nil
}

// loopbackHost reports whether host (of --addr) is only reachable from this machine.
func loopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}
