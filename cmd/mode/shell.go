package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/mode-build/mode/chroot"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/modules"
	"github.com/urfave/cli/v3"
)

func shellCommand() *cli.Command {
	return &cli.Command{
		Name:      "shell",
		Usage:     "an interactive shell in a module's mounted chain; changes are discarded, or kept as a new layer with --save",
		ArgsUsage: "MODULE [COMMAND...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: ".", Usage: "the hierarchy `DIR` of module files"},
			&cli.StringFlag{Name: "out", Value: "./out", Usage: "the output `DIR` holding built layers"},
			&cli.StringFlag{Name: "scratch", Usage: "`DIR` for the workspace (default: the system's temp dir)"},
			&cli.StringFlag{Name: "save", Usage: "keep what was done as a new layer `NAME` on top of MODULE: OUT/<chain>-NAME.sqfs"},
			&cli.StringFlag{Name: "compression", Value: layers.Compressions[0], Usage: "squashfs compression of the --save layer"},
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
			save := c.String("save")
			if save != "" {
				if err := layers.CheckSavedName(save); err != nil {
					return fmt.Errorf("shell --save: %w", err)
				}
				if err := layers.CheckCompression(c.String("compression")); err != nil {
					return err
				}
				for _, n := range h.Names() {
					if h.ChainName(n) == h.ChainName(name)+"-"+save {
						return fmt.Errorf("shell --save %s: %s.sqfs is module %s's layer: choose another name", save, h.ChainName(n), n)
					}
				}
			}
			b := &modules.Builder{Hierarchy: h, Out: c.String("out")}
			var files []string
			var metas []layers.Meta
			for _, m := range chain {
				st, meta, err := b.State(m.Name)
				if err != nil {
					return err
				}
				if st == modules.Missing {
					return fmt.Errorf("shell: layer of %s is missing in %s: run mode build %s first", m.Name, b.Out, name)
				}
				if save != "" && meta.Digest == "" {
					return fmt.Errorf("shell --save: layer of %s has no metadata in %s: run mode build %s first", m.Name, b.Out, name)
				}
				metas = append(metas, meta)
				files = append(files, b.Out+"/"+h.FileName(m.Name))
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
			var exit *chroot.ExitError
			if save != "" && c.Args().Len() == 1 && errors.As(err, &exit) {
				err = nil // an interactive shell's exit status is its last command's: keep the work
			}
			if save != "" && err == nil {
				var meta layers.Meta
				meta, err = layers.SaveWorkspace(ctx, ws, metas, layers.SaveOptions{Name: save, Out: b.Out,
					Compression: c.String("compression"), HostFiles: []string{"/etc/resolv.conf", "/etc/hostname"}})
				if err == nil {
					fmt.Println(savedLine(b.Out, meta))
				}
			} else if save != "" {
				err = fmt.Errorf("%w (nothing saved)", err)
			}
			if cerr := ws.Close(); err == nil {
				err = cerr
			}
			return err
		},
	}
}
