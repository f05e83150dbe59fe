package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/registry/trust"
	"github.com/urfave/cli/v3"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check that a chain in a registry is signed by a trusted key",
		ArgsUsage: "HOST[:PORT]/REPO:TAG|@sha256:…|CHAIN",
		Description: "Resolves REF to its manifest digest, reads the signatures stored for it (cosign's\n" +
			"tag sha256-<hex>.sig and the referrers API) and checks them against the public keys, as\n" +
			"the init does before it mounts anything. Prints REPO@DIGEST and the key ID that signed it;\n" +
			"exits non-zero saying which keys were tried and why each signature failed otherwise.\n" +
			"A CHAIN of the local store (no \"/\") is checked against the store's signatures.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "key", Usage: "a trusted public `KEY.pub` (repeatable)", Required: true},
			insecureFlag(), tokenFlag(), storeFlag(),
		},
		Action: func(ctx context.Context, c *cli.Command) error {
			if c.Args().Len() != 1 {
				return fmt.Errorf("verify: want one REF, got %d arguments", c.Args().Len())
			}
			keys, err := trust.LoadPublicKeys(c.StringSlice("key")...)
			if err != nil {
				return fmt.Errorf("verify: %w", err)
			}
			r := trustRemote(c)
			ref := c.Args().First()
			if !strings.Contains(ref, "/") {
				return verifyStore(c.String("store"), ref, keys)
			}
			d, _, err := r.Resolve(ctx, ref)
			if err != nil {
				return fmt.Errorf("verify: %w", err)
			}
			sigs, looked, err := r.Signatures(ctx, d)
			if err != nil {
				return fmt.Errorf("verify %s: %w", ref, err)
			}
			k, err := trust.Verify(keys, d.DigestStr(), sigs)
			if err != nil {
				if ve, ok := err.(*trust.VerifyError); ok {
					ve.Looked = looked
				}
				return fmt.Errorf("verify %s: %w", ref, err)
			}
			fmt.Printf("%s signed by %s\n", d, k)
			return nil
		},
	}
}

// verifyStore checks the signatures of the chain tagged chain in the store
// (trust.VerifyStore).
func verifyStore(dir, chain string, keys []*trust.PublicKey) error {
	s, err := store.Open(dir)
	if err != nil {
		return err
	}
	d, k, err := trust.VerifyStore(s, chain, keys)
	if err != nil {
		return fmt.Errorf("verify %s: %w", chain, err)
	}
	fmt.Printf("%s %s signed by %s\n", chain, d, k)
	return nil
}
