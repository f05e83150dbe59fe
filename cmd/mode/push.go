package main

import (
	"context"
	"fmt"

	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/store"
	"github.com/urfave/cli/v3"
)

func pushCommand() *cli.Command {
	return &cli.Command{
		Name:      "push",
		Usage:     "push a chain from the store to a registry",
		ArgsUsage: "[REPO:]CHAIN HOST[:PORT]/REPO[:TAG]",
		Description: "Pushes the chain's layers (base first), its config and its manifest; blobs the\n" +
			"repository already has are not uploaded again. The tag defaults to the chain name.\n" +
			"Prints the manifest digest. Credentials come from the docker config.",
		Flags: []cli.Flag{storeFlag(), insecureFlag(), tokenFlag(), caFlag(), signFlag(), jsonFlag(), pushPlatformFlag()},
		Action: func(ctx context.Context, c *cli.Command) error {
			if c.Args().Len() != 2 {
				return fmt.Errorf("push: want CHAIN and REF, got %d arguments", c.Args().Len())
			}
			key, err := signerOf(c)
			if err != nil {
				return err
			}
			s, err := store.Open(c.String("store"))
			if err != nil {
				return err
			}
			repo, ref, err := s.Find(c.Args().Get(0))
			if err != nil {
				return fmt.Errorf("push: %w", err)
			}
			opts, done, err := transferOptions(c)
			if err != nil {
				return err
			}
			defer done()
			if len(c.StringSlice("platform")) > 0 { // push_index.go
				return pushIndex(ctx, c, s, repo, ref, c.Args().Get(1), opts)
			}
			src, err := s.Source(repo, ref)
			if err != nil {
				return fmt.Errorf("push: %w", err)
			}
			d, err := remote.Push(ctx, src, c.Args().Get(1), opts...)
			if err != nil {
				return err
			}
			if err := signPushed(ctx, trustRemote(c), key, c.Args().Get(1), d); err != nil {
				return err
			}
			if err := pushSignatures(ctx, trustRemote(c), s, repo, ref, c.Args().Get(1), d); err != nil {
				return err
			}
			if c.Bool("json") {
				ch, _, _, err := s.Chain(repo, ref)
				if err != nil {
					return err
				}
				return printJSON(c, transferJSON(c.Args().Get(1), d.String(), ch))
			}
			fmt.Println(d)
			return nil
		},
	}
}
