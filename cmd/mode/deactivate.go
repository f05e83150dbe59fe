package main

import (
	"context"
	"fmt"
	"os"

	"github.com/mode-build/mode/boot/activate"
	"github.com/urfave/cli/v3"
)

func deactivateCommand() *cli.Command {
	return &cli.Command{
		Name:  "deactivate",
		Usage: "take an activated module away from the running system",
		Description: "What the module added disappears, what it replaced or deleted comes back. What was changed under\n" +
			"its paths since activation (an edited config file) is kept, and listed. See docs/activate.md.",
		ArgsUsage: "MODULE",
		Flags:     []cli.Flag{runDirFlag()},
		Action: func(ctx context.Context, c *cli.Command) error {
			if c.Args().Len() != 1 {
				return fmt.Errorf("deactivate: want one MODULE, got %d arguments", c.Args().Len())
			}
			if os.Geteuid() != 0 {
				return fmt.Errorf("deactivate: needs root (it unmounts)")
			}
			d, err := activate.Deactivate(ctx, c.Args().First(), activate.Options{RunDir: c.String("run-dir")})
			if err != nil {
				return err
			}
			fmt.Printf("deactivated %s in %.2fs\n", d.Module.Meta.Name, d.Elapsed.Seconds())
			if d.Lazy != "" {
				fmt.Printf("lazy: %s\n", d.Lazy)
			}
			for _, p := range d.Kept {
				fmt.Printf("kept %s (changed since activation)\n", p)
			}
			if d.Status != "" {
				fmt.Printf("dpkg status: %s\n", d.Status)
			}
			for _, k := range d.StatusKept {
				fmt.Printf("dpkg status: kept %s as it is (changed since activation)\n", k)
			}
			return nil
		},
	}
}
