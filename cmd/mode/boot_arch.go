package main

import (
	"context"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/mode-build/mode/boot/initramfs"
	"github.com/mode-build/mode/boot/kernel"
	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/modules"
	"github.com/urfave/cli/v3"
)

// bootArchFlags are --arch and --mode-binary of boot and initramfs.
func bootArchFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "arch", Usage: "the guest's `ARCH` (amd64, arm64; default: this machine's); arm64 boots under qemu-system-aarch64 -M virt with Debian's linux-image-cloud-arm64, fetched once"},
		&cli.StringFlag{Name: "mode-binary", Usage: "with --arch: mode built for that architecture, the initramfs's init (default: mode-ARCH beside this mode: make build-arm64)"},
	}
}

// guestArch is c's --arch, checked; this machine's by default.
func guestArch(c *cli.Command) (string, error) {
	a := c.String("arch")
	if a == "" {
		return runtime.GOARCH, nil
	}
	if err := modules.CheckArch(a); err != nil {
		return "", fmt.Errorf("--arch: %w", err)
	}
	return a, nil
}

// bootArchFiles checks that a --kernel is of the guest's architecture and,
// for another than this machine's, fetches its kernel and builds its
// initramfs (archInitramfsOptions) when not given, so that the chain's own
// kernel and the host's defaults are not used.
func bootArchFiles(ctx context.Context, c *cli.Command, m *qemu.Machine, tmp string) error {
	arch, err := guestArch(c)
	if err != nil {
		return err
	}
	if k := c.String("kernel"); k != "" {
		if ka, err := kernel.Arch(k); err == nil && ka != arch {
			return fmt.Errorf("boot: --kernel %s is an %s kernel, the guest is %s (--arch)", k, ka, arch)
		}
	}
	if arch == runtime.GOARCH {
		return nil
	}
	m.Arch = arch
	kmods := c.String("kernel-modules")
	if m.Kernel == "" {
		k, err := archKernel(ctx, arch)
		if err != nil {
			return err
		}
		m.Kernel = k.Vmlinuz
	}
	if m.Initrd != "" {
		return nil
	}
	opts, err := archInitramfsOptions(ctx, c, arch, kmods)
	if err != nil {
		return err
	}
	m.Initrd = filepath.Join(tmp, "initrd.img")
	_, err = buildInitramfs(ctx, c, opts, m.Initrd, false)
	return err
}

// archKernel is Debian's cloud kernel of arch, fetched once into
// kernelDir()/ARCH (kernel.FetchArch).
func archKernel(ctx context.Context, arch string) (*kernel.Kernel, error) {
	return kernel.FetchArch(ctx, filepath.Join(kernelDir(), arch), arch, runtime.GOARCH)
}

// archInitramfsOptions are the initramfs options for a guest of arch,
// another architecture than this machine's: --mode-binary (or mode-ARCH
// beside this executable) as mode and init, checked to be of arch; busybox
// and, unless kmods names them, the kernel modules of archKernel's
// fetch; the host's CA bundle.
func archInitramfsOptions(ctx context.Context, c *cli.Command, arch, kmods string) (initramfs.Options, error) {
	bin := c.String("mode-binary")
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return initramfs.Options{}, err
		}
		bin = filepath.Join(filepath.Dir(exe), "mode-"+arch)
	}
	if err := checkELFArch(bin, arch); err != nil {
		return initramfs.Options{}, fmt.Errorf("--mode-binary: %w (make build-%s builds it)", err, arch)
	}
	k, err := archKernel(ctx, arch)
	if err != nil {
		return initramfs.Options{}, err
	}
	if kmods == "" {
		kmods = k.Deb
	}
	if k.Busybox == "" {
		return initramfs.Options{}, fmt.Errorf("no busybox of %s beside the kernel in %s", arch, filepath.Dir(k.Deb))
	}
	o := initramfs.Options{Mode: bin, Busybox: k.Busybox, KernelModules: kmods}
	if _, err := os.Stat(initramfs.HostCACerts); err == nil {
		o.CACerts = initramfs.HostCACerts
	}
	if extra := c.StringSlice("module"); len(extra) > 0 {
		o.Modules = append(append([]string{}, initramfs.DefaultModules...), extra...)
	}
	return o, nil
}

// checkELFArch reports a file that is not an ELF executable of arch.
func checkELFArch(path, arch string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	got := map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64"}[f.Machine]
	if got != arch {
		return fmt.Errorf("%s is a program for %v, not %s", path, f.Machine, arch)
	}
	return nil
}

// archInitramfs is mode initramfs --arch ARCH for another architecture than
// this machine's: --kernel-modules, or Debian's cloud kernel of ARCH.
func archInitramfs(ctx context.Context, c *cli.Command, arch string) error {
	if c.Args().Len() > 0 {
		return fmt.Errorf("initramfs --arch %s: a CHAIN's own kernel is not read for another architecture: give --kernel-modules, or none for Debian's", arch)
	}
	opts, err := archInitramfsOptions(ctx, c, arch, c.String("kernel-modules"))
	if err != nil {
		return err
	}
	opts.Compress = c.String("compress")
	if _, err := buildInitramfs(ctx, c, opts, c.String("output"), c.Bool("allow-weaker-verify")); err != nil {
		return err
	}
	fmt.Println(c.String("output"))
	return nil
}
