package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mode-build/mode/boot/kernel"
	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/registry/serve"
	"github.com/urfave/cli/v3"
)

func bootCommand() *cli.Command {
	return &cli.Command{
		Name:  "boot",
		Usage: "boot a chain in QEMU: a registry REF, a chain of the local store, or a DIR of layers",
		Description: "A DIR of layers (mode build's output) becomes a disk the init reads with mode.from,\n" +
			"with no network. A chain of the local store is served on 127.0.0.1 (10.0.2.2 in the guest),\n" +
			"taking the guest's pushes (mode save NAME --push) with a token made for the boot (mode.token).\n" +
			"With --expect, mode boot exits 0 once the text appears on the console and stops the guest.\n" +
			"Without it, the guest's serial console is the terminal's until the guest powers off:\n" +
			"mode puts the terminal in raw mode (every key goes to the guest) and restores it after; Ctrl-a x leaves.",
		ArgsUsage: "REF|CHAIN|DIR|FILE.iso|FILE.img",
		Flags: append([]cli.Flag{
			storeFlag(),
			&cli.StringFlag{Name: "kernel", Usage: "the kernel `FILE` (default: Debian's cloud kernel, fetched once with apt-get)"},
			&cli.StringFlag{Name: "kernel-modules", Usage: "linux-image `DEB` or modules directory matching --kernel"},
			&cli.StringFlag{Name: "initrd", Usage: "an initramfs `FILE` made by mode initramfs (default: build one)"},
			&cli.IntFlag{Name: "memory", Aliases: []string{"m"}, Value: 512, Usage: "guest memory in `MiB`"},
			&cli.StringFlag{Name: "append", Usage: "more kernel command line `ARGS`"},
			&cli.StringFlag{Name: "chain", Usage: "with a DIR: the chain to boot (default: the longest)"},
			&cli.BoolFlag{Name: "insecure", Usage: "plain HTTP to the registry (mode.insecure)"},
			&cli.StringFlag{Name: "ca", Usage: "put the CA certificates in `FILE` in the initramfs (default with a loopback HTTPS registry: STORE/tls/ca.crt)"},
			&cli.StringFlag{Name: "cache-disk", Usage: "keep pulled layers on this ext4 image `FILE` (mode.cache; made when missing)"},
			&cli.StringFlag{Name: "changes-disk", Usage: "keep the guest's changes on this ext4 image `FILE` (mode.changes; made when missing)"},
			&cli.StringFlag{Name: "expect", Usage: "exit 0 once the console shows `TEXT`; exit 1 at once when the init fails"},
			&cli.DurationFlag{Name: "timeout", Value: 5 * time.Minute, Usage: "give up after `D`"},
			&cli.StringSliceFlag{Name: "trust", Usage: "the built initramfs boots only chains signed by public `KEY.pub` (repeatable; docs/trust.md)"},
		}, append(mediaBootFlags(), bootArchFlags()...)...),
		Action: bootAction,
	}
}

func bootAction(ctx context.Context, c *cli.Command) error {
	if m, ok, err := mediaMachine(ctx, c); ok {
		if err != nil {
			return err
		}
		defer removeEFIVars(m) // --http-boot's
		return runBoot(ctx, c, m)
	}
	if c.Args().Len() != 1 {
		return errors.New("boot: want one REF, CHAIN or DIR")
	}
	arg := c.Args().First()
	tmp, err := os.MkdirTemp("", "mode-boot-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	m := qemu.Machine{MemoryMiB: int(c.Int("memory")), Kernel: c.String("kernel"), Initrd: c.String("initrd")}
	var cmdline []string
	if fi, err := os.Stat(arg); err == nil && fi.IsDir() {
		disk := filepath.Join(tmp, "layers.img")
		if err := qemu.LayersDisk(ctx, arg, disk); err != nil {
			return err
		}
		m.Disks = append(m.Disks, qemu.Disk{File: disk, ReadOnly: true})
		cmdline = append(cmdline, "mode.from=/dev/vda")
		if ch := c.String("chain"); ch != "" {
			cmdline = append(cmdline, "mode.ref="+ch)
		}
	} else {
		token, err := newPushToken()
		if err != nil {
			return err
		}
		ref, insecure, stop, err := bootRef(ctx, arg, c.String("store"), token)
		if err != nil {
			return err
		}
		defer stop()
		if registryRef(arg) && insecure && speaksTLS(arg) {
			// A loopback mode serve --tls: HTTPS, trusting its site CA.
			if insecure = false; c.String("ca") == "" {
				if ca := filepath.Join(c.String("store"), "tls", serve.CACertFile); fileExists(ca) {
					c.Set("ca", ca)
				}
			}
		}
		if !registryRef(arg) { // the guest may push to the store served (mode save --push)
			cmdline = append(cmdline, "mode.token="+token)
		}
		m.Network = true
		cmdline = append(cmdline, "mode.ref="+ref)
		if insecure || c.Bool("insecure") {
			cmdline = append(cmdline, "mode.insecure")
		}
		if cd := c.String("cache-disk"); cd != "" {
			if _, err := os.Stat(cd); errors.Is(err, os.ErrNotExist) {
				if err := qemu.EmptyDisk(ctx, cd, 1024); err != nil {
					return err
				}
			}
			m.Disks = append(m.Disks, qemu.Disk{File: cd})
			cmdline = append(cmdline, "mode.cache=/dev/vda")
		}
	}
	if cd := c.String("changes-disk"); cd != "" {
		arg, err := changesDisk(ctx, &m, cd)
		if err != nil {
			return err
		}
		cmdline = append(cmdline, arg)
	}
	if err := bootArchFiles(ctx, c, &m, tmp); err != nil { // boot_arch.go
		return err
	}
	if err := bootChainKernel(ctx, c, &m, arg, tmp); err != nil {
		return err
	}
	if err := bootFiles(ctx, c, &m, tmp); err != nil {
		return err
	}
	m.Append = strings.TrimSpace(strings.Join(append(cmdline, c.String("append")), " "))
	return runBoot(ctx, c, m)
}

// runBoot runs m, watching its console as --expect and --timeout say; with
// no --expect, the console is the user's (boot_console.go).
func runBoot(ctx context.Context, c *cli.Command, m qemu.Machine) error {
	m.UEFI = m.UEFI || c.Bool("uefi")
	fmt.Fprintf(os.Stderr, "boot: %s %s\n", m.QEMU(), strings.Join(m.Args(), " "))
	w := qemu.Watch{Expect: c.String("expect"), Timeout: c.Duration("timeout"), Console: os.Stdout}
	if w.Expect == "" {
		return bootConsole(ctx, m, w, c.IsSet("timeout"))
	}
	watchInitFailure(&w)
	res, err := qemu.Run(ctx, m, w)
	if err != nil {
		return initFailure(res, err)
	}
	fmt.Fprintf(os.Stderr, "\nboot: %q after %.1fs\n", res.Matched, res.Elapsed.Seconds())
	return nil
}

// bootFiles fills in the kernel and builds the initramfs when not given.
func bootFiles(ctx context.Context, c *cli.Command, m *qemu.Machine, tmp string) error {
	kmods := c.String("kernel-modules")
	if m.Kernel == "" {
		k, err := kernel.Fetch(ctx, kernelDir(), "")
		if err != nil {
			return err
		}
		m.Kernel = k.Vmlinuz
		if kmods == "" {
			kmods = k.Deb
		}
	}
	if m.Initrd != "" {
		if len(c.StringSlice("trust")) > 0 {
			return errors.New("boot: --trust builds the initramfs; with --initrd, give the keys to mode initramfs --trust")
		}
		return nil
	}
	if kmods == "" {
		return errors.New("boot: --kernel needs --kernel-modules (or --initrd)")
	}
	opts, err := initramfsOptions("", kmods, nil)
	if err != nil {
		return err
	}
	m.Initrd = filepath.Join(tmp, "initrd.img")
	_, err = buildInitramfs(ctx, c, opts, m.Initrd, false)
	return err
}

// kernelDir is where mode boot keeps the kernel it fetches: $MODE_KERNEL_DIR,
// else the user's cache directory.
func kernelDir() string {
	if d := os.Getenv("MODE_KERNEL_DIR"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "mode", "kernel")
}
