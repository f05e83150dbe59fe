package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mode-build/mode/boot/media"
	"github.com/mode-build/mode/registry/store"
	"github.com/urfave/cli/v3"
)

func imageCommand() *cli.Command {
	return &cli.Command{
		Name:  "image",
		Usage: "write a bootable medium of a chain of the local store: ISO, raw disk or one initramfs",
		Description: "iso: a hybrid ISO 9660 image, booting as a CD/DVD and, written with dd, as a USB disk, under BIOS\n" +
			"and UEFI; the layers are files on it, found by the init by the medium's label.\n" +
			"disk: a raw GPT disk image (ESP with GRUB, kernel, initramfs; an ext4 data partition with the layers\n" +
			"and the changes, which persist across boots), to dd onto a stick or a VM's disk.\n" +
			"initramfs: mode's initramfs with the layers inside: one file to boot with no registry and no disk.\n" +
			"The kernel is --kernel (with --kernel-modules), or the chain's own /boot/vmlinuz-*. See docs/media.md.\n" +
			"A chain built for arm64 makes media for arm64 UEFI machines (GRUB arm64-efi, Debian's arm64 cloud kernel).",
		ArgsUsage: "CHAIN",
		Flags: append([]cli.Flag{
			storeFlag(),
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "iso", Usage: strings.Join(media.Formats, "|")},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the image to `FILE`", Required: true},
			&cli.StringFlag{Name: "kernel", Usage: "the kernel `FILE` (default: the chain's /boot/vmlinuz-*)"},
			&cli.StringFlag{Name: "kernel-modules", Usage: "linux-image `DEB` or modules directory matching --kernel"},
			&cli.StringFlag{Name: "initrd", Usage: "a mode initramfs `FILE` to use instead of building one"},
			&cli.StringFlag{Name: "append", Usage: "more kernel command line `ARGS`"},
			&cli.StringFlag{Name: "size", Usage: "disk: the image's `SIZE` (512M, 4G; default: the layers plus room for changes)"},
			&cli.StringSliceFlag{Name: "trust", Usage: "the built initramfs boots only chains signed by public `KEY.pub` (repeatable); the store's signatures of the chain go on the medium (docs/trust.md)"},
			&cli.StringFlag{Name: "ca", Usage: "put the CA certificates in `FILE` in the initramfs (the site CA of mode serve --tls auto)"},
			&cli.StringFlag{Name: "secure-boot-key", Usage: "iso, disk: UEFI boots a unified kernel image (kernel, initramfs, command line) signed with this PEM `KEY` (mode key generate --secure-boot; docs/trust.md)"},
			&cli.StringFlag{Name: "secure-boot-cert", Usage: "the PEM `CERT` of --secure-boot-key, the one enrolled in the firmware's db"},
		}, imageArchFlags()...),
		Action: imageAction,
	}
}

func imageAction(ctx context.Context, c *cli.Command) error {
	if c.Args().Len() != 1 {
		return errors.New("image: want one CHAIN")
	}
	format, out := c.String("format"), c.String("output")
	if !isFormat(format) {
		return fmt.Errorf("image: --format %q: unknown format (want %s)", format, strings.Join(media.Formats, ", "))
	}
	if dir := filepath.Dir(out); !isDir(dir) {
		return fmt.Errorf("image: -o %s: directory %s does not exist", out, dir)
	}
	im, err := storeImage(c.String("store"), c.Args().First())
	if err != nil {
		return err
	}
	arch, err := imageArch(c, im) // image_arch.go
	if err != nil {
		return err
	}
	im.Append = c.String("append")
	if s := c.String("size"); s != "" {
		if format != "disk" {
			return fmt.Errorf("image: --size %s: only for --format disk", s)
		}
		n, err := parseSize(s)
		if err != nil {
			return fmt.Errorf("image: --size %q: %w", s, err)
		}
		im.Size = n
	}
	tmp, err := os.MkdirTemp("", "mode-image-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if arch != "amd64" {
		im.Arch = arch
		err = imageArchKernel(ctx, c, im, format, tmp)
	} else {
		err = imageKernel(ctx, c, im, format, tmp)
	}
	if err != nil {
		return err
	}
	if err := imageSigned(c.String("store"), c.Args().First(), im, tmp); err != nil {
		return err
	}
	if key, cert := c.String("secure-boot-key"), c.String("secure-boot-cert"); key != "" || cert != "" {
		if key == "" || cert == "" {
			return errors.New("image: --secure-boot-key and --secure-boot-cert go together")
		}
		im.SecureBoot = &media.SecureBoot{Key: key, Cert: cert}
		if len(c.StringSlice("trust")) == 0 && c.String("initrd") == "" {
			fmt.Fprintln(os.Stderr, "image: warning: Secure Boot without --trust verifies the kernel and the initramfs, not the layers (docs/trust.md)")
		}
	}
	if format != "initramfs" {
		if w := media.SignedChainWarning(ctx, im, tmp); w != "" {
			doc := "docs/media.md#secure-boot-microsofts-keys"
			if im.Arch == "arm64" {
				doc = "docs/media.md#arm64"
			}
			fmt.Fprintln(os.Stderr, "image: warning: "+w+" ("+doc+")")
		}
	}
	if err := media.Write(ctx, format, im, out); err != nil {
		return err
	}
	fi, err := os.Stat(out)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "image: %s %s, %.1f MiB (layers %.1f MiB), label %s\n", format, out,
		float64(fi.Size())/(1<<20), float64(im.LayersSize())/(1<<20), im.Label(format))
	fmt.Println(out)
	return nil
}

func isFormat(f string) bool {
	for _, x := range media.Formats {
		if f == x {
			return true
		}
	}
	return false
}

func isDir(d string) bool {
	fi, err := os.Stat(d)
	return err == nil && fi.IsDir()
}

// storeImage is the chain of the store at dir as a media.Image.
func storeImage(dir, chain string) (*media.Image, error) {
	s, err := store.Open(dir)
	if err != nil {
		return nil, err
	}
	im, err := media.FromStore(s, chain)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	return im, nil
}

// imageKernel fills in the image's kernel and initramfs: --kernel and
// --kernel-modules, or the chain's own; --initrd, or one built into tmp.
// A kernel whose version differs from its modules' is an error.
func imageKernel(ctx context.Context, c *cli.Command, im *media.Image, format, tmp string) error {
	im.Kernel, im.Initrd = c.String("kernel"), c.String("initrd")
	kmods := c.String("kernel-modules")
	if im.Kernel == "" || kmods == "" {
		k, err := chainKernel(ctx, im, tmp)
		if err != nil {
			return err
		}
		if k != nil {
			if im.Kernel == "" {
				im.Kernel = k.Vmlinuz
			}
			if kmods == "" {
				kmods = k.Modules
			}
		}
	}
	if im.Kernel == "" && format != "initramfs" {
		return fmt.Errorf("image: chain %s has no kernel (/boot/vmlinuz-* and /lib/modules): give --kernel and --kernel-modules", im.Chain)
	}
	if im.Initrd != "" {
		if len(c.StringSlice("trust")) > 0 {
			return errors.New("image: --trust builds the initramfs; with --initrd, give the keys to mode initramfs --trust")
		}
		return nil
	}
	if kmods == "" {
		return fmt.Errorf("image: chain %s has no kernel modules (/lib/modules): give --kernel-modules (or --initrd)", im.Chain)
	}
	opts, err := initramfsOptions("", kmods, nil)
	if err != nil {
		return err
	}
	im.Initrd = filepath.Join(tmp, "initrd.img")
	res, err := buildInitramfs(ctx, c, opts, im.Initrd, false)
	if err != nil {
		return err
	}
	if im.Kernel != "" {
		v, err := media.KernelVersion(im.Kernel)
		if err != nil {
			return err
		}
		if v != res.KernelVersion {
			return fmt.Errorf("image: --kernel %s is Linux %s, but --kernel-modules %s holds the modules of %s", im.Kernel, v, kmods, res.KernelVersion)
		}
	}
	return nil
}

// parseSize reads a size in bytes with an optional binary suffix: 512M, 4G,
// 1.5G, 300000K.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	if i := strings.IndexAny(strings.ToUpper(s), "KMGT"); i > 0 {
		suffix := strings.ToUpper(strings.TrimSuffix(strings.TrimSuffix(s[i:], "B"), "i"))
		shift := map[string]uint{"K": 10, "M": 20, "G": 30, "T": 40}[suffix]
		if shift == 0 {
			return 0, fmt.Errorf("unknown unit %q (want K, M, G or T)", s[i:])
		}
		mult, s = int64(1)<<shift, s[:i]
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return 0, errors.New("want a size such as 512M or 4G")
	}
	return int64(f * float64(mult)), nil
}
