package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/mode-build/mode/boot/kernel"
	"github.com/mode-build/mode/boot/media"
	"github.com/mode-build/mode/modules"
	"github.com/urfave/cli/v3"
)

// imageArchFlags are mode image's --arch and --mode-binary.
func imageArchFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "arch", Usage: "the machines' `ARCH` (amd64, arm64; default: the chain's); arm64 media boot through UEFI with GRUB's arm64-efi and Debian's linux-image-cloud-arm64, fetched once"},
		&cli.StringFlag{Name: "mode-binary", Usage: "for another architecture than this machine's: mode built for it, the initramfs's init (default: mode-ARCH beside this mode: make build-arm64)"},
	}
}

// imageArch is the architecture of the chain of im (its layers'), checked
// against --arch when given.
func imageArch(c *cli.Command, im *media.Image) (string, error) {
	top := im.Layers[len(im.Layers)-1].Meta
	arch := top.Arch()
	for _, l := range im.Layers {
		if a := l.Meta.Arch(); a != arch {
			return "", fmt.Errorf("image: chain %s mixes architectures: layer %s is for %s, %s for %s", im.Chain, l.Meta.File, a, top.File, arch)
		}
	}
	if want := c.String("arch"); want != "" {
		if err := modules.CheckArch(want); err != nil {
			return "", fmt.Errorf("image: --arch: %w", err)
		}
		if want != arch {
			return "", fmt.Errorf("image: --arch %s: chain %s is for %s (layer %s)", want, im.Chain, arch, top.File)
		}
	}
	return arch, nil
}

// imageArchKernel fills in the kernel, the initramfs and GRUB of an image
// for arm64 machines (media.Image.Arch): --kernel, checked to be an arm64
// kernel, else Debian's cloud kernel of arm64 (a chain's own kernel is not
// read for another architecture); --initrd, else one built as mode
// initramfs --arch builds it (archInitramfsOptions); GRUB's arm64-efi
// modules, fetched once beside the kernel.
func imageArchKernel(ctx context.Context, c *cli.Command, im *media.Image, format, tmp string) error {
	arch := im.Arch
	im.Kernel, im.Initrd = c.String("kernel"), c.String("initrd")
	if im.Kernel != "" {
		if ka, err := kernel.Arch(im.Kernel); err != nil {
			return fmt.Errorf("image: --kernel: %w", err)
		} else if ka != arch {
			return fmt.Errorf("image: --kernel %s is an %s kernel, the chain %s is for %s", im.Kernel, ka, im.Chain, arch)
		}
	}
	if format != "initramfs" {
		if im.Kernel == "" {
			k, err := archKernel(ctx, arch)
			if err != nil {
				return err
			}
			im.Kernel = k.Vmlinuz
		}
		g, err := kernel.FetchGrub(ctx, filepath.Join(kernelDir(), arch), arch)
		if err != nil {
			return err
		}
		im.GrubEFI = g
	}
	if im.Initrd != "" {
		if len(c.StringSlice("trust")) > 0 {
			return errors.New("image: --trust builds the initramfs; with --initrd, give the keys to mode initramfs --trust")
		}
		return nil
	}
	opts, err := archInitramfsOptions(ctx, c, arch, c.String("kernel-modules"))
	if err != nil {
		return err
	}
	im.Initrd = filepath.Join(tmp, "initrd.img")
	_, err = buildInitramfs(ctx, c, opts, im.Initrd, false)
	return err
}
