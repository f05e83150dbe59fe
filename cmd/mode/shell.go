package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/modules"
	"github.com/mode-build/mode/modules/chroot"
	"github.com/mode-build/mode/modules/save"
	"github.com/mode-build/mode/mount"
	"github.com/urfave/cli/v3"
)

func shellCommand() *cli.Command {
	return &cli.Command{
		Name:      "shell",
		Usage:     "an interactive shell in a module's mounted chain; changes are discarded, or kept as a new layer with --save",
		ArgsUsage: "MODULE [--save NAME] [--] [COMMAND...]",
		// Flags go before MODULE; all after it is the command and its own flags.
		StopOnNthArg: ptr(1),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: ".", Usage: "the hierarchy `DIR` of module files"},
			&cli.StringFlag{Name: "out", Value: "./out", Usage: "the output `DIR` holding built layers"},
			&cli.StringFlag{Name: "scratch", Usage: "`DIR` for the workspace (default: the system's temp dir)"},
			&cli.StringFlag{Name: "save", Usage: "keep what was done as a new layer `NAME` on top of MODULE: OUT/<chain>-NAME.sqfs"},
			compressionFlag(" of the --save layer"),
		},
		Action: func(ctx context.Context, c *cli.Command) error {
			if err := needRoot("shell"); err != nil {
				return err
			}
			if done, err := privateMounts(c); done {
				return err
			}
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
			saveAs, argv := shellArgs(c.String("save"), c.Args().Slice()[1:])
			if saveAs != "" {
				if err := layers.CheckSavedName(saveAs); err != nil {
					return fmt.Errorf("shell --save: %w", err)
				}
				if err := checkCompression("shell --save", c); err != nil {
					return err
				}
				for _, n := range h.Names() {
					if h.ChainName(n) == h.ChainName(name)+"-"+saveAs {
						return fmt.Errorf("shell --save %s: %s.sqfs is module %s's layer: choose another name", saveAs, h.ChainName(n), n)
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
				if saveAs != "" && meta.Digest == "" {
					return fmt.Errorf("shell --save: layer of %s has no metadata in %s: run mode build %s first", m.Name, b.Out, name)
				}
				metas = append(metas, meta)
				files = append(files, filepath.Join(b.Out, h.FileName(m.Name)))
			}
			ws, err := mount.OpenWorkspace(files, c.String("scratch"), fmt.Sprintf("ws-%d-", os.Getpid()))
			if err != nil {
				return err
			}
			defer ws.Close()
			interactive := len(argv) == 0
			if interactive {
				argv = []string{"/bin/sh", "-l"}
			}
			err = chroot.Run(ctx, ws.Root, chroot.Options{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Terminal: true,
				Env: []string{"PS1=(" + name + ") # "}}, argv...)
			var exit *chroot.ExitError
			if saveAs != "" && interactive && errors.As(err, &exit) {
				err = nil // an interactive shell's exit status is its last command's: keep the work
			}
			if saveAs != "" && err == nil {
				var meta layers.Meta
				meta, err = save.SaveWorkspace(ctx, ws, metas, save.Options{Name: saveAs, Out: b.Out,
					Compression: c.String("compression"), HostFiles: []string{"/etc/resolv.conf", "/etc/hostname"}})
				if err == nil {
					fmt.Println(savedLine(b.Out, meta))
				}
			} else if saveAs != "" {
				err = fmt.Errorf("%w (nothing saved)", err)
			}
			if cerr := ws.Close(); err == nil {
				err = cerr
			}
			return err
		},
	}
}

// shellArgs takes a --save NAME given right after MODULE (mode shell console
// --save mine -- CMD...) out of the command, and a "--" before the command.
func shellArgs(saveAs string, rest []string) (string, []string) {
	switch {
	case len(rest) >= 2 && rest[0] == "--save":
		saveAs, rest = rest[1], rest[2:]
	case len(rest) >= 1 && strings.HasPrefix(rest[0], "--save="):
		saveAs, rest = strings.TrimPrefix(rest[0], "--save="), rest[1:]
	}
	if len(rest) > 0 && rest[0] == "--" {
		rest = rest[1:]
	}
	return saveAs, rest
}

func ptr[T any](v T) *T { return &v }
