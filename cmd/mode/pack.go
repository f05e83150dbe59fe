package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/mode-build/mode/squashfs"
)

func packCommand() *cli.Command {
	return &cli.Command{
		Name:      "pack",
		Usage:     "squash a directory into a squashfs layer, keeping owners, modes, xattrs, links and devices (SLAX dir2sb)",
		ArgsUsage: "DIR FILE.sqfs",
		Flags: []cli.Flag{
			compressionFlag(""),
		},
		Action: func(ctx context.Context, c *cli.Command) error {
			if c.NArg() != 2 {
				return fmt.Errorf("pack: want DIR FILE.sqfs, got %d arguments", c.NArg())
			}
			if err := checkCompression("pack", c); err != nil {
				return err
			}
			dir, dst := c.Args().Get(0), c.Args().Get(1)
			if err := squashfs.Pack(ctx, dir, dst, c.String("compression")); err != nil {
				return err
			}
			fmt.Fprintln(c.Root().Writer, dst)
			return nil
		},
	}
}
