package main

import (
	"context"
	"fmt"
	"os"

	"github.com/mode-build/mode/layers"
	"github.com/urfave/cli/v3"
)

func saveCommand() *cli.Command {
	return &cli.Command{
		Name:  "save",
		Usage: "save a booted system's changes as a new layer on top of its chain",
		Description: "Squashes the overlay upper directory of the running system (/run/mode/changes) with a build's\n" +
			"exclusions and pruning into OUT/<chain>-NAME.sqfs and its .json, without changing the running system\n" +
			"and without copying the changes. The layer records the booted chain's digests: it never mounts over\n" +
			"another chain. OUT must be on a disk: on the overlay root the layer would land in the changes (RAM).",
		ArgsUsage: "NAME",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Value: ".", Usage: "the output `DIR` (on a disk, not the overlay root)"},
			&cli.StringFlag{Name: "compression", Value: layers.Compressions[0], Usage: "squashfs compression: zstd, gzip, xz or lz4"},
			&cli.StringFlag{Name: "run-dir", Value: layers.RunDir, Usage: "the booted system's run `DIR` (chain.json, layers/, changes/)"},
		},
		Action: func(ctx context.Context, c *cli.Command) error {
			if c.Args().Len() != 1 {
				return fmt.Errorf("save: name the new layer (mode save NAME)")
			}
			if err := layers.CheckCompression(c.String("compression")); err != nil {
				return err
			}
			out := c.String("out")
			if layers.OnTmpfs(out) {
				fmt.Fprintf(os.Stderr, "mode save: warning: %s is in RAM (tmpfs): the layer takes RAM until moved to a disk\n", out)
			}
			meta, err := layers.SaveChanges(ctx, c.String("run-dir"), layers.SaveOptions{
				Name: c.Args().First(), Out: out, Compression: c.String("compression")})
			if err != nil {
				return err
			}
			fmt.Println(savedLine(out, meta))
			return nil
		},
	}
}

// savedLine is the one line a saved layer gets.
func savedLine(out string, m layers.Meta) string {
	return fmt.Sprintf("saved %s/%s %s %s %.1fs  pruned %d files (%s), excluded %d (%s)", out, m.File, m.Digest,
		humanSize(m.Size), m.Seconds, m.Pruned.Files, humanSize(m.Pruned.Bytes), m.Excluded.Files, humanSize(m.Excluded.Bytes))
}
