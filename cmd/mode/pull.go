package main

import (
	"context"
	"fmt"

	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/store"
	"github.com/urfave/cli/v3"
)

func pullCommand() *cli.Command {
	return &cli.Command{
		Name:      "pull",
		Usage:     "pull a chain from a registry into the store",
		ArgsUsage: "HOST[:PORT]/REPO:TAG|@sha256:…",
		Description: "Brings the chain into the store (tagged with its chain name) and, with --out,\n" +
			"writes its MoDe-named .sqfs files there. Layers download in parallel, are verified\n" +
			"against their digests, and resume where an interrupted pull stopped. Prints the\n" +
			"manifest digest. The chain's signatures (mode sign, cosign) come along into the store.",
		Flags: []cli.Flag{
			storeFlag(), insecureFlag(), tokenFlag(), caFlag(), mirrorFlag(),
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "also write the layer files to `DIR`"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: 4, Usage: "layers fetched at once"},
			jsonFlag(), pullPlatformFlag(),
		},
		Action: func(ctx context.Context, c *cli.Command) error {
			if c.Args().Len() != 1 {
				return fmt.Errorf("pull: want one REF, got %d arguments", c.Args().Len())
			}
			s, err := store.Open(c.String("store"))
			if err != nil {
				return err
			}
			opts, done, err := transferOptions(c)
			if err != nil {
				return err
			}
			defer done()
			popts, err := platformOption(c)
			if err != nil {
				return err
			}
			opts = append(append(opts, popts...), remote.WithStore(s), remote.WithJobs(c.Int("jobs")))
			ch, d, err := remote.Pull(ctx, c.Args().Get(0), c.String("out"), opts...)
			if err != nil {
				return err
			}
			if err := pullSignatures(ctx, trustRemote(c), s, c.Args().Get(0), d); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, transferJSON(c.Args().Get(0), d.String(), ch))
			}
			fmt.Println(d)
			return nil
		},
	}
}
