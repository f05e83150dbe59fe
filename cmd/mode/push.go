package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/mode-build/mode/registry"
	"github.com/urfave/cli/v3"
)

func pushCommand() *cli.Command {
	return &cli.Command{
		Name:      "push",
		Usage:     "push a chain from the store to a registry",
		ArgsUsage: "CHAIN HOST[:PORT]/REPO[:TAG]",
		Description: "Pushes the chain's layers (base first), its config and its manifest; blobs the\n" +
			"repository already has are not uploaded again. The tag defaults to the chain name.\n" +
			"Prints the manifest digest. Credentials come from the docker config.",
		Flags: []cli.Flag{storeFlag(), insecureFlag(), tokenFlag(), signFlag()},
		Action: func(ctx context.Context, c *cli.Command) error {
			if c.Args().Len() != 2 {
				return fmt.Errorf("push: want CHAIN and REF, got %d arguments", c.Args().Len())
			}
			key, err := signerOf(c)
			if err != nil {
				return err
			}
			s, err := registry.OpenStore(c.String("store"))
			if err != nil {
				return err
			}
			d, err := registry.Push(ctx, s, c.Args().Get(0), c.Args().Get(1), transferOptions(c)...)
			if err != nil {
				return err
			}
			if err := signPushed(ctx, trustRemote(c), key, c.Args().Get(1), d); err != nil {
				return err
			}
			if err := pushStoreSignatures(ctx, c, s, d); err != nil {
				return err
			}
			fmt.Println(d)
			return nil
		},
	}
}

// storeFlag is --store, shared by the commands that use the local store.
func storeFlag() cli.Flag {
	return &cli.StringFlag{
		Name:    "store",
		Usage:   "the local store (an OCI image layout)",
		Value:   registry.DefaultStore(),
		Sources: cli.EnvVars("MODE_STORE"),
	}
}

func insecureFlag() cli.Flag {
	return &cli.BoolFlag{Name: "insecure", Usage: "allow plain HTTP (automatic for loopback addresses)"}
}

func tokenFlag() cli.Flag {
	return &cli.StringFlag{
		Name:    "token",
		Usage:   "bearer `TOKEN` for the registry (what mode serve --push-token set) instead of the docker config",
		Sources: cli.EnvVars("MODE_TOKEN"),
	}
}

// transferOptions turns the shared flags into registry options.
func transferOptions(c *cli.Command) []registry.Option {
	opts := []registry.Option{registry.WithInsecure(c.Bool("insecure")), registry.WithLogger(slog.Default())}
	if t := c.String("token"); t != "" {
		opts = append(opts, registry.WithAuth(&authn.Bearer{Token: t}))
	}
	if fi, err := os.Stderr.Stat(); (err == nil && fi.Mode()&os.ModeCharDevice != 0) || c.Bool("verbose") {
		opts = append(opts, registry.WithProgress(os.Stderr))
	}
	return opts
}
