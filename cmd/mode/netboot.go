package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/mode-build/mode/boot/initramfs"
	"github.com/mode-build/mode/boot/kernel"
	"github.com/mode-build/mode/boot/netboot"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/report"
	"github.com/urfave/cli/v3"
)

// netbootConfig is /boot/ for mode serve: the kernel and initramfs are
// fetched and built on the first request, not before. The initramfs it builds
// lives in a temporary directory, which cleanup removes. siteCA, when set, is
// the CA the built initramfs carries (a TLS site).
func netbootConfig(c *cli.Command, s *store.Store, listen net.Addr, siteCA string) (cfg netboot.Config, cleanup func(), err error) {
	kernelFile, kmods, initrd := c.String("kernel"), c.String("kernel-modules"), c.String("initrd")
	trusted, err := initramfs.TrustFiles(c.StringSlice("trust"), false) // checked now, used on first use
	if err != nil {
		return cfg, nil, err
	}
	if initrd != "" && len(trusted) > 0 {
		return cfg, nil, errors.New("serve: --trust builds the initramfs; with --initrd, give the keys to mode initramfs --trust")
	}
	tmp, tmpErr := os.MkdirTemp("", "mode-netboot-*")
	cleanup = func() { os.RemoveAll(tmp) }
	fetched := netboot.Lazy(func(ctx context.Context) (string, error) {
		k, err := kernel.Fetch(ctx, kernelDir(), "")
		if err != nil {
			return "", err
		}
		return k.Deb, nil
	})
	cfg.Chain = c.String("boot-chain")
	if cfg.Advertise, err = netboot.Advertise(c.String("advertise"), listen); err != nil {
		slog.Warn("machines get the address they reached the server at", "err", err)
	} else if noteLoopback(listen, cfg.Advertise) {
		fmt.Fprintf(os.Stderr, "mode: note: listening on %s, which machines cannot reach at %s: listen with --addr 0.0.0.0:PORT\n", listen, cfg.Advertise)
	}
	if t := c.String("push-token"); t != "" { // each machine reports its boots with its own token (docs/site.md)
		cfg.Token = func(mac string) string { return report.MachineToken(t, mac) }
	}
	// The repository of mode.ref: --boot-chain's, else the store's only one.
	if cfg.Chain != "" {
		repo, tag, err := s.Find(cfg.Chain)
		if err != nil {
			cleanup()
			return cfg, nil, fmt.Errorf("serve --boot-chain: %w", err)
		}
		cfg.Repo, cfg.Chain = repo, tag
	} else if repos, err := s.Repositories(); err == nil && len(repos) == 1 {
		cfg.Repo = repos[0]
	}
	cfg.Kernel = netboot.Lazy(func(ctx context.Context) (string, error) {
		if kernelFile != "" {
			return kernelFile, nil
		}
		if _, err := fetched.Path(ctx); err != nil {
			return "", err
		}
		k, err := kernel.Fetch(ctx, kernelDir(), "")
		if err != nil {
			return "", err
		}
		return k.Vmlinuz, nil
	})
	cfg.Initrd = netboot.Lazy(func(ctx context.Context) (string, error) {
		if initrd != "" {
			return initrd, nil
		}
		mods := kmods
		if mods == "" {
			if kernelFile != "" {
				return "", errors.New("netboot: --kernel needs --kernel-modules or --initrd")
			}
			var err error
			if mods, err = fetched.Path(ctx); err != nil {
				return "", err
			}
		}
		opts, err := initramfsOptions("", mods, nil)
		if err != nil {
			return "", err
		}
		opts.Files = append(opts.Files, trusted...)
		if siteCA != "" { // the init verifies the site's HTTPS with it: no mode.insecure
			done, err := addSiteCA(&opts, siteCA)
			if err != nil {
				return "", err
			}
			defer done()
		}
		if tmpErr != nil {
			return "", tmpErr
		}
		out := filepath.Join(tmp, "initrd.img")
		res, err := initramfs.BuildFile(ctx, opts, out)
		if err != nil {
			return "", err
		}
		reportInitramfs(res)
		return out, nil
	})
	return cfg, cleanup, nil
}

// noteLoopback reports whether the server listens on loopback only while it
// tells machines a non-loopback address.
func noteLoopback(listen net.Addr, adv string) bool {
	tcp, ok := listen.(*net.TCPAddr)
	host, _, _ := net.SplitHostPort(adv)
	ip := net.ParseIP(host)
	return ok && tcp.IP.IsLoopback() && (ip == nil || !ip.IsLoopback()) && host != "10.0.2.2"
}
