package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"

	"github.com/mode-build/mode/internal/initramfs"
	"github.com/mode-build/mode/internal/netboot"
	"github.com/mode-build/mode/internal/qemu"
	"github.com/urfave/cli/v3"
)

// netbootHandler serves /boot/ for mode serve: the kernel and initramfs are
// fetched and built on the first request, not before. The initramfs it builds
// lives in a temporary directory, which cleanup removes.
func netbootHandler(c *cli.Command) (h http.Handler, cleanup func()) {
	kernel, kmods, initrd := c.String("kernel"), c.String("kernel-modules"), c.String("initrd")
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
	return netboot.Handler(cfg), cleanup
}
