package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/mode-build/mode/boot/activate"
	"github.com/mode-build/mode/layers"
	"github.com/urfave/cli/v3"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "list the booted chain, the activated modules and the saved layers of the running system",
		ArgsUsage: " ",
		Flags:     []cli.Flag{runDirFlag()},
		Action: func(ctx context.Context, c *cli.Command) error {
			run := c.String("run-dir")
			b, err := layers.ReadBooted(run)
			if err != nil {
				return err
			}
			st, err := activate.ReadState(run)
			if err != nil {
				return err
			}
			fmt.Printf("booted %s from %s", b.ChainName(), b.Ref)
			if b.Digest != "" {
				fmt.Printf(" %s", b.Digest)
			}
			fmt.Println()
			for _, l := range b.Layers {
				kind := "layer"
				if len(l.ParentDigests) > 0 {
					kind = "saved"
				}
				fmt.Printf("  %-6s %-40s %s %s\n", kind, l.File, layers.ShortDigest(l.Digest), layers.Size(l.Size))
			}
			printLazy(os.Stdout, run)
			if b.Changes != "" {
				fmt.Printf("changes on %s\n", b.Changes)
			}
			if len(st.Modules) == 0 {
				fmt.Println("no activated modules")
			}
			for _, m := range st.Modules {
				fmt.Printf("  active %-40s %s %s on /%s since %s, from %s\n", m.Meta.File, layers.ShortDigest(m.Meta.Digest), layers.Size(m.Meta.Size),
					strings.Join(m.Dirs, " /"), m.Activated.Format("2006-01-02 15:04:05"), m.From)
				printLazyModule(os.Stdout, m)
			}
			return nil
		},
	}
}
