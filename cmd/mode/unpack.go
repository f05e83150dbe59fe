package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/mode-build/mode/squashfs"
)

func unpackCommand() *cli.Command {
	return &cli.Command{
		Name:      "unpack",
		Usage:     "extract a squashfs layer into a new or empty directory, exactly when root (SLAX sb2dir)",
		ArgsUsage: "FILE.sqfs DIR",
		Action: func(ctx context.Context, c *cli.Command) error {
			if c.NArg() != 2 {
				return fmt.Errorf("unpack: want FILE.sqfs DIR, got %d arguments", c.NArg())
			}
			src, dir := c.Args().Get(0), c.Args().Get(1)
			if err := squashfs.Unpack(ctx, src, dir); err != nil {
				return err
			}
			fmt.Fprintln(c.Root().Writer, dir)
			return nil
		},
	}
}
