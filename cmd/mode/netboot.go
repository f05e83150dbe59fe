package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/mode-build/mode/internal/initramfs"
	"github.com/mode-build/mode/internal/netboot"
	"github.com/mode-build/mode/internal/qemu"
	"github.com/mode-build/mode/store"
	"github.com/urfave/cli/v3"
)

// netbootHandler serves /boot/ for mode serve: the kernel and initramfs are
// fetched and built on the first request, not before. The initramfs it builds
// lives in a temporary directory, which cleanup removes.
func netbootHandler(c *cli.Command, s *store.Store) (h http.Handler, cleanup func(), err error) {
	kernel, kmods, initrd := c.String("kernel"), c.String("kernel-modules"), c.String("initrd")
	trusted, err := initramfs.TrustFiles(c.StringSlice("trust"), false) // checked now, used on first use
	if err != nil {
		return nil, nil, err
	}
	if initrd != "" && len(trusted) > 0 {
		return nil, nil, errors.New("serve: --trust builds the initramfs; with --initrd, give the keys to mode initramfs --trust")
	}
	tmp, tmpErr := os.MkdirTemp("", "mode-netboot-*")
	cleanup = func() { os.RemoveAll(tmp) }
	fetched := netboot.Lazy(func(ctx context.Context) (string, error) {
		k, err := qemu.FetchKernel(ctx, kernelDir(), "")
		if err != nil {
			return "", err
		}
		return k.Deb, nil
	})
	cfg := netboot.Config{Chain: c.String("boot-chain")}
	// The repository of mode.ref: --boot-chain's, else the store's only one.
	if cfg.Chain != "" {
		repo, tag, err := s.Find(cfg.Chain)
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("serve --boot-chain: %w", err)
		}
		cfg.Repo, cfg.Chain = repo, tag
	} else if repos, err := s.Repositories(); err == nil && len(repos) == 1 {
		cfg.Repo = repos[0]
	}
	cfg.Kernel = netboot.Lazy(func(ctx context.Context) (string, error) {
		if kernel != "" {
			return kernel, nil
		}
		if _, err := fetched.Path(ctx); err != nil {
			return "", err
		}
		k, err := qemu.FetchKernel(ctx, kernelDir(), "")
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
			if kernel != "" {
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
	return netboot.Handler(cfg), cleanup, nil
}
