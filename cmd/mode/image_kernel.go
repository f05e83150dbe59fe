package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mode-build/mode/boot/media"
	"github.com/urfave/cli/v3"
)

// chainKernel finds the kernel of the chain of im (/boot/vmlinuz-* with its
// /lib/modules/VERSION) and extracts it into tmp; nil when the chain has
// none.
func chainKernel(ctx context.Context, im *media.Image, tmp string) (*media.ChainKernel, error) {
	dir := filepath.Join(tmp, "chain-kernel")
	k, err := media.FindKernel(ctx, im.Layers, dir)
	if err != nil {
		return nil, fmt.Errorf("chain %s: %w", im.Chain, err)
	}
	if k != nil {
		fmt.Fprintf(os.Stderr, "kernel: Linux %s and its modules from the chain %s\n", k.Version, im.Chain)
	}
	return k, nil
}

// initramfsChainModules is --kernel-modules, or the modules of the kernel of
// the chain named by mode initramfs's argument, extracted into a temporary
// directory that cleanup removes.
func initramfsChainModules(ctx context.Context, c *cli.Command) (kmods string, cleanup func(), err error) {
	cleanup = func() {}
	if k := c.String("kernel-modules"); k != "" || c.Args().Len() == 0 {
		if k == "" {
			return "", cleanup, errors.New("initramfs: give --kernel-modules, or a CHAIN that has a kernel")
		}
		return k, cleanup, nil
	}
	im, err := storeImage(c.String("store"), c.Args().First())
	if err != nil {
		return "", cleanup, err
	}
	tmp, err := os.MkdirTemp("", "mode-initramfs-*")
	if err != nil {
		return "", cleanup, err
	}
	cleanup = func() { os.RemoveAll(tmp) }
	k, err := chainKernel(ctx, im, tmp)
	if err == nil && k == nil {
		err = fmt.Errorf("initramfs: chain %s has no kernel (/boot/vmlinuz-* and /lib/modules): give --kernel-modules", im.Chain)
	}
	if err != nil {
		cleanup()
		return "", func() {}, err
	}
	return k.Modules, cleanup, nil
}
