package main

import (
	"context"
	"fmt"
	"os"

	"github.com/mode-build/mode/build"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/modules"
	"github.com/urfave/cli/v3"
)

func buildCommand() *cli.Command {
	return &cli.Command{
		Name:      "build",
		Usage:     "build the layers of the named modules' chains (all modules when none)",
		ArgsUsage: "[MODULE...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: ".", Usage: "the hierarchy `DIR` of module files"},
			&cli.StringFlag{Name: "out", Value: "./out", Usage: "the output `DIR` for layers and their metadata"},
			&cli.BoolFlag{Name: "force", Usage: "rebuild even the layers that are up to date"},
			&cli.StringFlag{Name: "compression", Value: layers.Compressions[0], Usage: "squashfs compression: zstd, gzip, xz or lz4"},
			&cli.StringFlag{Name: "scratch", Usage: "`DIR` for workspaces while building (default: the system's temp dir)"},
		},
		Action: func(ctx context.Context, c *cli.Command) error {
			if err := layers.CheckCompression(c.String("compression")); err != nil {
				return err
			}
			h, err := modules.Load(c.String("dir"))
			if err != nil {
				return err
			}
			b := &modules.Builder{
				Hierarchy:   h,
				Out:         c.String("out"),
				Compression: c.String("compression"),
				Force:       c.Bool("force"),
				Maker: &build.Maker{Scratch: c.String("scratch"), Compression: c.String("compression"),
					Stdout: os.Stderr, Stderr: os.Stderr},
				Report: func(r modules.Result) { fmt.Println(resultLine(r)) },
			}
			_, err = b.Build(ctx, c.Args().Slice()...)
			return err
		},
	}
}

// resultLine is the one line a built or cached module gets.
func resultLine(r modules.Result) string {
	state := "built "
	if r.Cached {
		state = "cached"
	}
	line := fmt.Sprintf("%s %-40s %9s %6.1fs", state, r.Meta.File, humanSize(r.Meta.Size), r.Duration.Seconds())
	if !r.Cached && (r.Meta.Pruned.Files > 0 || r.Meta.Excluded.Files > 0) {
		line += fmt.Sprintf("  pruned %d files (%s), excluded %d (%s)", r.Meta.Pruned.Files,
			humanSize(r.Meta.Pruned.Bytes), r.Meta.Excluded.Files, humanSize(r.Meta.Excluded.Bytes))
	}
	return line
}
