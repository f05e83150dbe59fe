package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/urfave/cli/v3"
)

// newApp is mode's root command, with every command and the global flags:
// main runs it, and so do the tests (runMode), in-process.
func newApp() *cli.Command {
	return &cli.Command{
		Name:  "mode",
		Usage: "build, publish, boot and save layered squashfs modules",
		// mode completion bash|zsh|fish prints the script (docs/cli.md).
		EnableShellCompletion: true,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "log what happens to stderr"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress on stderr, only errors"},
		},
		Before: func(ctx context.Context, c *cli.Command) (context.Context, error) {
			level := slog.LevelWarn
			if c.Bool("verbose") {
				level = slog.LevelDebug
			}
			if c.Bool("quiet") {
				level = slog.LevelError
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
			return ctx, nil
		},
		// One file per command, named for it (<command>_<aspect>.go for
		// what it needs more); sorted by name (TestCommandsSorted).
		Commands: []*cli.Command{
			activateCommand(),
			bootCommand(),
			buildCommand(),
			deactivateCommand(),
			gcCommand(),
			imageCommand(),
			initramfsCommand(),
			inspectCommand(),
			keyCommand(),
			manCommand(),
			netbootCommand(),
			packCommand(),
			pullCommand(),
			pushCommand(),
			recompressCommand(),
			saveCommand(),
			serveCommand(),
			shellCommand(),
			signCommand(),
			siteCommand(),
			statusCommand(),
			treeCommand(),
			unpackCommand(),
			verifyCommand(),
		},
	}
}
