package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mode-build/mode/boot/activate"
	"github.com/mode-build/mode/modules"
	"github.com/urfave/cli/v3"
)

func activateCommand() *cli.Command {
	return &cli.Command{
		Name:  "activate",
		Usage: "add a module to the running system, without a reboot",
		Description: "MODULE is a layer file (FILE.sqfs with FILE.json beside it), a tag of the registry the system\n" +
			"booted from (verified by digest), or a module on the mode.from media it booted from. It must be built\n" +
			"on the booted chain. Each top-level directory it changes gets an overlay of its own over the root's,\n" +
			"under the same upper directory: nothing is copied into RAM. On a lazy boot (mode.lazy=on, unsigned) a\n" +
			"tag's layer is read lazily too: from the registry on demand, each block checked by dm-verity, the rest\n" +
			"filled in the background (mode status shows it). See docs/activate.md.",
		ArgsUsage: "MODULE|FILE.sqfs|TAG",
		Flags: []cli.Flag{runDirFlag(), insecureFlag(), mirrorFlag(),
			&cli.StringFlag{Name: "platform", Usage: "the `ARCH` whose chain to take from an image index (default: the booted chain's); a module of another architecture than the booted chain's is refused"}},
		Action: func(ctx context.Context, c *cli.Command) error {
			if c.Args().Len() != 1 {
				return fmt.Errorf("activate: want one MODULE, got %d arguments", c.Args().Len())
			}
			if os.Geteuid() != 0 {
				return fmt.Errorf("activate: needs root (it mounts)")
			}
			ms, err := mirrors(c)
			if err != nil {
				return err
			}
			if p := c.String("platform"); p != "" {
				if err := modules.CheckArch(p); err != nil {
					return fmt.Errorf("activate: --platform: %w", err)
				}
			}
			start := time.Now()
			a, err := activate.Activate(ctx, c.Args().First(), activate.Options{RunDir: c.String("run-dir"), Insecure: c.Bool("insecure"), Mirrors: ms, Platform: c.String("platform")})
			reportActivation(ctx, c.String("run-dir"), c.Bool("insecure"), c.Args().First(), a, err, time.Since(start))
			if err != nil {
				return err
			}
			m := a.Module
			fmt.Printf("activated %s %s on /%s in %.2fs\n", m.Meta.Name, m.Meta.Digest, strings.Join(m.Dirs, " /"), a.Elapsed.Seconds())
			if m.Lazy != nil {
				fmt.Printf("lazily: %s over %s, read from the registry on demand, each block checked by dm-verity; the rest fills in the background (mode status)\n", m.Lazy.Device, m.Lazy.NBD)
			} else if a.How != "" {
				fmt.Printf("not lazily: %s\n", a.How)
			}
			if a.Status != "" {
				fmt.Printf("dpkg status: %s\n", a.Status)
			}
			return nil
		},
	}
}
