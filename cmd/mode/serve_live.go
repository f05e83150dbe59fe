package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"reflect"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mode-build/mode/boot/netboot"
	"github.com/mode-build/mode/internal/flagfile"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/site"
	"github.com/mode-build/mode/registry/store"
	"github.com/urfave/cli/v3"
)

// liveFlags are the flags of mode serve that SIGHUP applies while serving;
// a change of any other (--addr, --store, --reports-db, …, and flags not
// listed here) is logged as waiting for a restart.
var liveFlags = []string{
	"config", "grace",
	"push-token", "insecure", "max-uploads", "upload-expiry", "idle-timeout",
	"tls", "tls-cert", "tls-key", "tls-name",
	"boot-chain", "kernel", "kernel-modules", "initrd", "trust", "advertise",
}

// bootFlags are the flags /boot/ is made from (with push-token: the boot
// token boot.ipxe hands machines): a change makes it again.
var bootFlags = []string{"push-token", "boot-chain", "kernel", "kernel-modules", "initrd", "trust", "advertise"}

// serveConfig is mode serve's Before: the flags of --config FILE that the
// command line did not set.
func serveConfig(ctx context.Context, c *cli.Command) (context.Context, error) {
	if f := c.String("config"); f != "" {
		return ctx, flagfile.Apply(c, f, "config")
	}
	return ctx, nil
}

// parseServe parses args, the arguments of mode serve, as the command does
// (its --config file included) and returns the command with its flags set,
// without serving.
func parseServe(args []string) (*cli.Command, error) {
	cmd := serveCommand()
	var got *cli.Command
	cmd.Action = func(_ context.Context, c *cli.Command) error { got = c; return nil }
	cmd.Writer, cmd.ErrWriter = io.Discard, io.Discard
	// A fresh context: the running command's own would become the parent.
	if err := cmd.Run(context.Background(), append([]string{"serve"}, args...)); err != nil {
		return nil, err
	}
	if got == nil {
		return nil, errors.New("serve: no configuration parsed")
	}
	return got, nil
}

// serveArgs are the arguments that follow "serve" in the process's arguments.
func serveArgs(osArgs []string) []string {
	if i := slices.Index(osArgs, "serve"); i >= 0 {
		return slices.Clone(osArgs[i+1:])
	}
	return nil
}

// liveServe is a running mode serve and what SIGHUP may change of it.
type liveServe struct {
	args     []string     // mode serve's arguments, parsed again on SIGHUP
	cur      *cli.Command // the configuration in force
	store    *store.Store
	listen   net.Addr
	sv       *serve.Server
	site     *site.Site
	boot     swapHandler // /boot/
	bootCfg  netboot.Config
	bootMore func(*netboot.Options) // what /boot/ takes besides the flags: the fleet, TLS
	cert     liveCert
	cleanups []func()
	// pxeAdvertise is the --advertise that --pxe derived at start ("" when
	// none): a reload without --advertise keeps it (pxeAdvertise).
	pxeAdvertise string
}

// setBoot makes /boot/ from c's flags.
func (l *liveServe) setBoot(c *cli.Command) error {
	nb, cleanup, err := netbootHandler(c, l.store, l.listen, l.bootMore)
	if err != nil {
		return err
	}
	var h http.Handler = nb
	l.bootCfg = nb.Config
	// An older /boot/ may still be serving a download: its files go at exit.
	l.cleanups = append(l.cleanups, cleanup)
	l.boot.p.Store(&h)
	return nil
}

func (l *liveServe) cleanup() {
	for _, f := range l.cleanups {
		f()
	}
}

// run serves srv on ln until ctx ends, reloading on each value of hup, then
// shuts down gracefully. scheme is "https" when srv has a TLS config.
func (l *liveServe) run(ctx context.Context, ln net.Listener, srv *http.Server, scheme string, hup <-chan os.Signal) error {
	fmt.Printf("%s://%s\n", scheme, ln.Addr())
	slog.Info("serving", "url", scheme+"://"+ln.Addr().String(), "pid", os.Getpid())
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	for {
		select {
		case err := <-errc:
			return err
		case <-hup:
			if err := l.reload(); err != nil {
				slog.Error("reload refused: the configuration in force stays", "err", err)
			}
		case <-ctx.Done():
			return l.shutdown(srv, errc)
		}
	}
}

// shutdown stops accepting, lets the requests under way finish for at most
// --grace (or until a second signal), then cuts what is left.
func (l *liveServe) shutdown(srv *http.Server, errc <-chan error) error {
	grace := l.cur.Duration("grace")
	slog.Info("stopping: the requests under way may finish", "grace", grace.String())
	start := time.Now()
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	again := make(chan os.Signal, 1) // a second Ctrl-C or SIGTERM does not wait
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	go func() {
		select {
		case <-again:
			cancel()
		case <-sctx.Done():
		}
	}()
	if err := srv.Shutdown(sctx); err != nil {
		slog.Warn("cutting the connections still open (grace period over, or signalled again)", "grace", grace.String())
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	slog.Info("stopped", "after", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// reload reads the configuration again (the same arguments, --config read
// anew) and applies what can change while serving. It changes nothing when
// any of it fails: the last good configuration keeps serving.
func (l *liveServe) reload() error {
	next, err := parseServe(l.args)
	if err != nil {
		return err
	}
	if err := pxeAdvertise(next, l.pxeAdvertise); err != nil {
		return err
	}
	changed, restart := diffFlags(l.cur, next)
	tlsNext, err := serveTLS(next, l.store.Dir())
	if err != nil {
		return err
	}
	tlsOn := l.cert.p.Load() != nil
	if (tlsNext != nil) != tlsOn {
		restart = append(restart, "tls (HTTPS on or off)")
	}
	if slices.ContainsFunc(changed, func(f string) bool { return slices.Contains(bootFlags, f) }) {
		if err := l.setBoot(next); err != nil {
			return err
		}
	}
	if tlsOn && tlsNext != nil {
		l.cert.p.Store(&tlsNext.Certificates[0])
	}
	l.sv.Update(serve.WithPushToken(next.String("push-token")), serve.WithInsecure(next.Bool("insecure")), serve.WithLimits(serveLimits(next)))
	l.site.Update(site.WithPushToken(next.String("push-token"), next.Bool("insecure")))
	l.cur = next
	slog.Info("reloaded", "changed", changed, "tls", tlsOn)
	if len(restart) > 0 {
		slog.Warn("changed, but taking effect only at the next restart: the old value stays in force", "flags", restart)
	}
	return nil
}

// diffFlags lists the flags whose values differ between a and b: those
// that apply live, and those that need a restart.
func diffFlags(a, b *cli.Command) (live, restart []string) {
	for _, f := range b.Flags {
		name := f.Names()[0]
		if reflect.DeepEqual(a.Value(name), b.Value(name)) {
			continue
		}
		if slices.Contains(liveFlags, name) {
			live = append(live, name)
		} else {
			restart = append(restart, name)
		}
	}
	return live, restart
}

// swapHandler serves with the handler it holds, which may be replaced while
// serving.
type swapHandler struct{ p atomic.Pointer[http.Handler] }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.p.Load()).ServeHTTP(w, r)
}

// liveCert is the server certificate, replaced on reload: connections
// already open keep theirs, new handshakes get the new one.
type liveCert struct {
	p atomic.Pointer[tls.Certificate]
}

// config returns a TLS configuration like c whose certificate is lc's,
// starting with c's.
func (lc *liveCert) config(c *tls.Config) *tls.Config {
	lc.p.Store(&c.Certificates[0])
	return &tls.Config{
		MinVersion:     c.MinVersion,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return lc.p.Load(), nil },
	}
}
