package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/mode-build/mode/registry/fleet"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/store"
	"github.com/urfave/cli/v3"
)

func siteCommand() *cli.Command {
	return &cli.Command{
		Name:  "site",
		Usage: "the fleet of mode serve: check a site file, queue a next-boot action (docs/fleet.md)",
		Commands: []*cli.Command{
			{
				Name:      "check",
				Usage:     "check a site file: every rule, the chains they name in the store, no ties",
				ArgsUsage: "FILE",
				Flags:     []cli.Flag{storeFlag(), &cli.BoolFlag{Name: "no-store", Usage: "do not look the chains up in the store"}},
				Action: func(ctx context.Context, c *cli.Command) error {
					if c.Args().Len() != 1 {
						return errors.New("site check: give one FILE")
					}
					var f fleet.Finder
					if !c.Bool("no-store") {
						s, err := store.Open(c.String("store"))
						if err != nil {
							return err
						}
						f = s
					}
					rs, err := fleet.Load(c.Args().First(), f)
					if err != nil {
						return err
					}
					for _, r := range rs.Rules {
						target := r.Chain
						if r.Local {
							target = "local disk"
						}
						fmt.Printf("%s:%d\t%s\t%s\t%s\n", rs.File, r.Line, r.Name, r.Level, target)
					}
					return nil
				},
			},
			{
				Name:      "action",
				Usage:     "queue a one-shot next-boot action for a machine: boot-once CHAIN, boot-once local (its own disk), install|reinstall [CHAIN] (to the disk its rule's install section selects)",
				ArgsUsage: "MACHINE boot-once CHAIN|local | MACHINE install|reinstall [CHAIN]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "server", Value: "http://127.0.0.1:5000", Usage: "mode serve's `URL`"},
					&cli.StringFlag{Name: "admin-token", Usage: "mode serve's --admin-token", Sources: cli.EnvVars("MODE_ADMIN_TOKEN")},
					caFlag(),
				},
				Action: func(ctx context.Context, c *cli.Command) error {
					if n := c.Args().Len(); n != 3 && !(n == 2 && isInstallKind(c.Args().Get(1))) {
						return errors.New("site action: want MACHINE boot-once CHAIN|local, or MACHINE install|reinstall [CHAIN]")
					}
					var client *http.Client
					if ca := c.String("ca"); ca != "" {
						t, err := remote.CATransport(ca)
						if err != nil {
							return fmt.Errorf("--ca: %w", err)
						}
						client = &http.Client{Transport: t}
					}
					a, err := fleet.PostAction(ctx, client, c.String("server"), c.String("admin-token"), c.Args().Get(0),
						fleet.ActionRequest{Kind: c.Args().Get(1), Chain: c.Args().Get(2)})
					if err != nil {
						return fmt.Errorf("site action: %w", err)
					}
					fmt.Fprintf(os.Stderr, "mode: action %d queued: %s %s for %s, until its report\n", a.ID, a.Kind, c.Args().Get(2), c.Args().Get(0))
					fmt.Println(a.ID)
					return nil
				},
			},
		},
	}
}

// isInstallKind: install and reinstall take the rule's chain when given none.
func isInstallKind(kind string) bool { return kind == fleet.KindInstall || kind == fleet.KindReinstall }
