// Command mode builds, publishes, boots and saves layered squashfs modules.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	modeinit "github.com/mode-build/mode/boot/init"
	"github.com/urfave/cli/v3"
)

func main() {
	if modeinit.Called() { // the initramfs's /init is this binary
		modeinit.Main()
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := &cli.Command{
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
		Commands: []*cli.Command{
			// One file per command; keep this list sorted.
			activateCommand(),
			bootCommand(),
			buildCommand(),
			deactivateCommand(),
			gcCommand(),
			imageCommand(),
			netbootCommand(),
			initramfsCommand(),
			inspectCommand(),
			manCommand(),
			keyCommand(),
			packCommand(),
			pullCommand(),
			pushCommand(),
			recompressCommand(),
			saveCommand(),
			serveCommand(),
			shellCommand(),
			siteCommand(),
			signCommand(),
			statusCommand(),
			treeCommand(),
			unpackCommand(),
			verifyCommand(),
		},
	}
	if err := app.Run(ctx, os.Args); err != nil {
		code := 1
		var exit cli.ExitCoder // a wrapped *exec.ExitError is one too: print its message
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		}
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(os.Stderr, "mode:", msg)
		}
		os.Exit(code)
	}
}
