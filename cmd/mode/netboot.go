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

func netbootCommand() *cli.Command {
	return &cli.Command{
		Name:  "netboot",
		Usage: "lay out a TFTP root for PXE: iPXE (BIOS, UEFI) chaining into mode serve's boot.ipxe, and a dnsmasq snippet",
		Description: "For machines whose NIC has no iPXE: DIR gets undionly.kpxe and ipxe.efi (Debian's ipxe package),\n" +
			"boot.ipxe (chains into http://SERVER/boot/boot.ipxe of mode serve) and dnsmasq.conf. Serve DIR by\n" +
			"TFTP (dnsmasq with that snippet does it) and run mode serve --boot-chain CHAIN on SERVER.\n" +
			"mode boot --pxe DIR boots from it in QEMU. See docs/media.md.",
		ArgsUsage: "DIR",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "server", Usage: "`HOST:PORT` of mode serve, as the machines reach it", Required: true},
			&cli.StringFlag{Name: "chain", Usage: "the `CHAIN` to boot (default: mode serve's --boot-chain)"},
			&cli.BoolFlag{Name: "http-boot", Usage: "hand UEFI HTTP boot clients (Secure Boot) mode serve's signed UKI, /boot/mode.efi (needs serve --secure-boot-key)"},
		},
		Action: func(ctx context.Context, c *cli.Command) error {
			if c.Args().Len() != 1 {
				return errors.New("netboot: want one DIR")
			}
			dir := c.Args().First()
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("netboot: %w", err)
			}
			files, err := media.WritePXE(dir, c.String("server"), c.String("chain"), c.Bool("http-boot"))
			if err != nil {
				return fmt.Errorf("netboot: %w", err)
			}
			for _, f := range files {
				fmt.Println(filepath.Join(dir, f))
			}
			return nil
		},
	}
}
