// Command mode builds, publishes, boots and saves layered squashfs modules.
package main

import (
	"context"
	"errors"
	"fmt"
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
	app := newApp()
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
