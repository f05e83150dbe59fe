package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/mode-build/mode/boot/initramfs"
	"github.com/urfave/cli/v3"
)

func initramfsCommand() *cli.Command {
	return &cli.Command{
		Name:      "initramfs",
		Usage:     "build the initramfs that boots a chain (mode as its init, kernel modules, rescue shell)",
		ArgsUsage: "[CHAIN]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "kernel-modules", Aliases: []string{"k"}, Usage: "linux-image `DEB`, /lib/modules/VERSION or a root holding it (default: CHAIN's own)"},
			storeFlag(),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "initrd.img", Usage: "write the initramfs to `FILE`"},
			&cli.StringFlag{Name: "compress", Value: initramfs.Compressions[0], Usage: strings.Join(initramfs.Compressions, "|")},
			&cli.StringFlag{Name: "init", Usage: "a separate init `BINARY` such as mode-init (default: mode itself is the init)"},
			&cli.StringSliceFlag{Name: "module", Usage: "carry kernel `MODULE` too (repeatable)"},
			&cli.StringFlag{Name: "ca", Usage: "trust the CA certificates in `FILE` for HTTPS pulls and pushes (the site CA of mode serve --tls auto)"},
			&cli.StringSliceFlag{Name: "trust", Usage: "boot only chains signed by public `KEY.pub` (repeatable; docs/trust.md)"},
			&cli.BoolFlag{Name: "allow-weaker-verify", Usage: "with --trust: let mode.verify=warn|off on the kernel line weaken the check"},
			bootArchFlags()[0], bootArchFlags()[1],
		},
		Action: func(ctx context.Context, c *cli.Command) error {
			arch, err := guestArch(c)
			if err != nil {
				return err
			}
			if arch != runtime.GOARCH { // boot_arch.go: its own kernel's modules by default
				return archInitramfs(ctx, c, arch)
			}
			kmods, cleanup, err := initramfsChainModules(ctx, c)
			if err != nil {
				return err
			}
			defer cleanup()
			opts, err := initramfsOptions(c.String("init"), kmods, c.StringSlice("module"))
			if err != nil {
				return err
			}
			opts.Compress = c.String("compress")
			if _, err := buildInitramfs(ctx, c, opts, c.String("output"), c.Bool("allow-weaker-verify")); err != nil {
				return err
			}
			fmt.Println(c.String("output"))
			return nil
		},
	}
}

// initramfsOptions are the defaults of this machine with the given init,
// kernel modules and extra kernel modules.
func initramfsOptions(init, kmods string, extra []string) (initramfs.Options, error) {
	opts, err := initramfs.Defaults()
	if init != "" {
		opts.Init, err = init, nil
	}
	if err != nil {
		return opts, err
	}
	opts.KernelModules = kmods
	if len(extra) > 0 {
		opts.Modules = append(append([]string{}, initramfs.DefaultModules...), extra...)
	}
	return opts, nil
}

// buildInitramfs writes the initramfs of opts to out with what the command's
// --ca (the site CA) and --trust (signing keys) add, and reports it.
func buildInitramfs(ctx context.Context, c *cli.Command, opts initramfs.Options, out string, allowWeaker bool) (*initramfs.Result, error) {
	if ca := c.String("ca"); ca != "" {
		cleanup, err := initramfs.AddCA(&opts, ca)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		defer cleanup()
	}
	tf, err := initramfs.TrustFiles(c.StringSlice("trust"), allowWeaker)
	if err != nil {
		return nil, err
	}
	opts.Files = append(opts.Files, tf...)
	res, err := initramfs.BuildFile(ctx, opts, out)
	if err != nil {
		return nil, err
	}
	reportInitramfs(res)
	return res, nil
}

func reportInitramfs(res *initramfs.Result) {
	fmt.Fprintf(os.Stderr, "initramfs: %.1f MiB (%s), kernel %s, %d modules (%s)\n",
		float64(res.Size)/(1<<20), res.Compressor, res.KernelVersion, len(res.Modules), strings.Join(res.Modules, " "))
	if len(res.Builtin) > 0 {
		fmt.Fprintf(os.Stderr, "initramfs: built into the kernel: %s\n", strings.Join(res.Builtin, " "))
	}
	if len(res.Missing) > 0 {
		fmt.Fprintf(os.Stderr, "initramfs: the kernel lacks: %s\n", strings.Join(res.Missing, " "))
	}
}
