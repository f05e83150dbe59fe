package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
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
		Flags: []cli.Flag{storeFlag(), insecureFlag(), tokenFlag(), caFlag(), signFlag(), jsonFlag()},
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
			src, err := s.Source(repo, ref)
			if err != nil {
				return fmt.Errorf("push: %w", err)
			}
			opts, done, err := transferOptions(c)
			if err != nil {
				return err
			}
			defer done()
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

// storeFlag is --store, shared by the commands that use the local store.
func storeFlag() cli.Flag {
	return &cli.StringFlag{
		Name:    "store",
		Usage:   "the local store (an OCI image layout)",
		Value:   store.DefaultStore(),
		Sources: cli.EnvVars("MODE_STORE"),
	}
}

func insecureFlag() cli.Flag {
	return &cli.BoolFlag{Name: "insecure", Usage: "allow plain HTTP (automatic for loopback addresses)"}
}

func mirrorFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "mirror", Usage: "try the registry `HOST[:PORT]` first (same repository; repeatable, or a comma list; docs/registry.md)"}
}

// mirrors returns the --mirror list, checked.
func mirrors(c *cli.Command) ([]string, error) {
	ms := c.StringSlice("mirror")
	if len(ms) == 0 {
		return nil, nil
	}
	out, err := remote.ParseMirrors(strings.Join(ms, ","))
	if err != nil {
		return nil, fmt.Errorf("--mirror: %w", err)
	}
	return out, nil
}

func caFlag() cli.Flag {
	return &cli.StringFlag{
		Name:    "ca",
		Usage:   "trust the CA certificates in `FILE` too (the site CA of mode serve --tls auto: STORE/tls/ca.crt)",
		Sources: cli.EnvVars("MODE_CA"),
	}
}

func tokenFlag() cli.Flag {
	return &cli.StringFlag{
		Name:    "token",
		Usage:   "bearer `TOKEN` for the registry (what mode serve --push-token set) instead of the docker config",
		Sources: cli.EnvVars("MODE_TOKEN"),
	}
}

// transferOptions turns the shared flags into remote options; done ends the
// progress display.
func transferOptions(c *cli.Command) (opts []remote.Option, done func(), err error) {
	opts = []remote.Option{remote.WithInsecure(c.Bool("insecure")), remote.WithLogger(slog.Default())}
	if c.IsSet("mirror") {
		ms, err := mirrors(c)
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, remote.WithMirrors(ms...))
	}
	if ca := c.String("ca"); ca != "" {
		t, err := remote.CATransport(ca)
		if err != nil {
			return nil, nil, fmt.Errorf("--ca: %w", err)
		}
		opts = append(opts, remote.WithTransport(t))
	}
	if t := c.String("token"); t != "" {
		opts = append(opts, remote.WithAuth(&authn.Bearer{Token: t}))
	}
	done = func() {}
	if !c.Root().Bool("quiet") { // a bar on a terminal, else a line per blob
		p := newProgressView(os.Stderr)
		opts = append(opts, remote.WithProgress(p.Event))
		done = p.Close
	}
	return opts, done, nil
}
