package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/mode-build/mode/serve"
	"github.com/mode-build/mode/site"
	"github.com/mode-build/mode/store"
	"github.com/urfave/cli/v3"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve the store over the OCI distribution API",
		Description: "The embedded registry for netboot and one-machine use: /v2/, repositories,\n" +
			"manifests, blobs (Range, ETag), uploads, tags list, catalog and referrers, read by\n" +
			"anyone who can connect. Pushes and deletes need --push-token. Prints the URL it\n" +
			"listens on; stops on SIGTERM.",
		Flags: []cli.Flag{
			storeFlag(),
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:5000", Usage: "listen on `HOST:PORT`"},
			&cli.StringFlag{Name: "boot-chain", Usage: "the chain ([REPO:]TAG) /boot/boot.ipxe boots by default (netboot)"},
			&cli.StringFlag{Name: "kernel", Usage: "the kernel `FILE` served as /boot/vmlinuz (default: Debian's cloud kernel, fetched on first use)"},
			&cli.StringFlag{Name: "kernel-modules", Usage: "linux-image `DEB` or modules directory matching --kernel"},
			&cli.StringFlag{Name: "initrd", Usage: "the initramfs `FILE` served as /boot/initrd.img (default: built on first use)"},
			&cli.StringFlag{Name: "push-token", Usage: "accept pushes and deletes that present this bearer `TOKEN`", Sources: cli.EnvVars("MODE_PUSH_TOKEN")},
			&cli.BoolFlag{Name: "insecure", Usage: "accept the push token over plain HTTP from other machines (default: HTTPS or loopback only)"},
			&cli.IntFlag{Name: "max-uploads", Value: serve.DefaultLimits.Uploads, Usage: "upload sessions open at once"},
			&cli.DurationFlag{Name: "upload-expiry", Value: serve.DefaultLimits.UploadExpiry, Usage: "remove an upload session untouched for `DURATION`"},
			&cli.StringFlag{Name: "advertise", Usage: "tell machines (boot.ipxe) to reach this server at `HOST[:PORT]` (default: the default route's interface address, the listening port)"},
			&cli.StringFlag{Name: "reports-db", Usage: "keep boot reports in this bbolt `FILE` (default: STORE/reports.db)"},
			&cli.IntFlag{Name: "max-reports", Value: site.DefaultMaxReports, Usage: "keep at most `N` reports, dropping the oldest"},
			&cli.DurationFlag{Name: "idle-timeout", Value: serve.DefaultLimits.Idle, Usage: "cut a connection idle, or a transfer stalled, for `DURATION`"},
		},
		Action: func(ctx context.Context, c *cli.Command) error {
			s, err := store.Open(c.String("store"))
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", c.String("addr"))
			if err != nil {
				return err
			}
			boot, cleanup, err := netbootHandler(c, s, ln.Addr())
			if err != nil {
				return err
			}
			defer cleanup()
			st, closeSite, err := newSite(c, s)
			if err != nil {
				return err
			}
			defer closeSite()
			sv := serve.New(s, serve.WithHandler("/", st.Handler()), serve.WithMiddleware(st.Instrument), serve.WithPushToken(c.String("push-token")), serve.WithLogger(slog.Default()),
				serve.WithInsecure(c.Bool("insecure")), serve.WithHandler("/boot/", boot),
				serve.WithLimits(serve.Limits{Uploads: c.Int("max-uploads"), UploadExpiry: c.Duration("upload-expiry"), Idle: c.Duration("idle-timeout")}))
			return serveHTTP(ctx, ln, sv.HTTPServer(), "http")
		},
	}
}

// serveHTTP serves srv on ln until ctx ends, then shuts down gracefully.
// scheme is "https" when srv has a TLS config.
func serveHTTP(ctx context.Context, ln net.Listener, srv *http.Server, scheme string) error {
	fmt.Printf("%s://%s\n", scheme, ln.Addr())
	fmt.Fprintf(os.Stderr, "mode: serving on %s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
