package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mode-build/mode/chroot"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/modules"
	"github.com/urfave/cli/v3"
)

func shellCommand() *cli.Command {
	return &cli.Command{
		Name:      "shell",
		Usage:     "an interactive shell in a module's mounted chain; changes are discarded",
		ArgsUsage: "MODULE [COMMAND...]",
		// Flags go before MODULE; all after it is the command and its own flags.
		StopOnNthArg: ptr(1),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: ".", Usage: "the hierarchy `DIR` of module files"},
			&cli.StringFlag{Name: "out", Value: "./out", Usage: "the output `DIR` holding built layers"},
			&cli.StringFlag{Name: "scratch", Usage: "`DIR` for the workspace (default: the system's temp dir)"},
		},
		Action: func(ctx context.Context, c *cli.Command) error {
			if c.Args().Len() < 1 {
				return fmt.Errorf("shell: name a module")
			}
			name := c.Args().First()
			h, err := modules.Load(c.String("dir"))
			if err != nil {
				return err
			}
			chain, err := h.Chain(name)
			if err != nil {
				return err
			}
			b := &modules.Builder{Hierarchy: h, Out: c.String("out")}
			var files []string
			for _, m := range chain {
				st, _, err := b.State(m.Name)
				if err != nil {
					return err
				}
				if st == modules.Missing {
					return fmt.Errorf("shell: layer of %s is missing in %s: run mode build %s first", m.Name, b.Out, name)
				}
				files = append(files, filepath.Join(b.Out, h.FileName(m.Name)))
			}
			ws, err := layers.OpenWorkspace(files, c.String("scratch"))
			if err != nil {
				return err
			}
			defer ws.Close()
			argv := []string{"/bin/sh", "-l"}
			if c.Args().Len() > 1 {
				argv = c.Args().Slice()[1:]
			}
			err = chroot.Run(ctx, ws.Root, chroot.Options{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
				Env: []string{"PS1=(" + name + ") # "}}, argv...)
			if cerr := ws.Close(); err == nil {
				err = cerr
			}
			return err
		},
	}
}

func ptr[T any](v T) *T { return &v }
