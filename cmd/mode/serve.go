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

	"github.com/mode-build/mode/registry"
	"github.com/urfave/cli/v3"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve the store over the OCI distribution API",
		Description: "The embedded registry for netboot and one-machine use: /v2/, manifests, blobs\n" +
			"(Range, ETag), tags list and referrers, read by anyone who can connect. Pushes are\n" +
			"accepted only with --push-token. Prints the URL it listens on; stops on SIGTERM.",
		Flags: []cli.Flag{
			storeFlag(),
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:5000", Usage: "listen on `HOST:PORT`"},
			&cli.StringFlag{Name: "boot-chain", Usage: "the chain /boot/boot.ipxe boots by default (netboot)"},
			&cli.StringFlag{Name: "kernel", Usage: "the kernel `FILE` served as /boot/vmlinuz (default: Debian's cloud kernel, fetched on first use)"},
			&cli.StringFlag{Name: "kernel-modules", Usage: "linux-image `DEB` or modules directory matching --kernel"},
			&cli.StringFlag{Name: "initrd", Usage: "the initramfs `FILE` served as /boot/initrd.img (default: built on first use)"},
			&cli.StringFlag{Name: "push-token", Usage: "accept pushes that present this bearer `TOKEN`", Sources: cli.EnvVars("MODE_PUSH_TOKEN")},
		},
		Action: func(ctx context.Context, c *cli.Command) error {
			s, err := registry.OpenStore(c.String("store"))
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", c.String("addr"))
			if err != nil {
				return err
			}
			boot, cleanup := netbootHandler(c)
			defer cleanup()
			sv := registry.NewServer(s, registry.WithPushToken(c.String("push-token")), registry.WithServerLogger(slog.Default()),
				registry.WithHandler("/boot/", boot))
			return serve(ctx, ln, sv.Handler())
		},
	}
}

// serve serves h on ln until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	fmt.Printf("http://%s\n", ln.Addr())
	fmt.Fprintf(os.Stderr, "mode: serving on %s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
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
