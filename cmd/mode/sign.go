package main

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/registry/trust"
	"github.com/opencontainers/go-digest"
	"github.com/urfave/cli/v3"
)

func signCommand() *cli.Command {
	return &cli.Command{
		Name:      "sign",
		Usage:     "sign a chain in a registry (cosign's key-based format)",
		ArgsUsage: "HOST[:PORT]/REPO:TAG|@sha256:…|CHAIN",
		Description: "Signs the manifest digest REF names now and stores the signature beside it as cosign\n" +
			"does (tag sha256-<hex>.sig, listed by the referrers API where the registry has it), so\n" +
			"`cosign verify --key KEY.pub` and `mode verify` accept it. The private key may be cosign's\n" +
			"encrypted format ($COSIGN_PASSWORD) or plain PKCS#8/SEC 1 PEM. Prints REPO@DIGEST.\n" +
			"A CHAIN of the local store (no \"/\") is signed in the store: mode serve serves the\n" +
			"signature and mode push carries it along to any registry.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "key", Usage: "the private `KEY` file (mode key generate, cosign generate-key-pair)", Required: true},
			&cli.StringSliceFlag{Name: "annotation", Aliases: []string{"a"}, Usage: "`KEY=VALUE` for the payload's optional part (repeatable)"},
			insecureFlag(), tokenFlag(), storeFlag(),
			&cli.StringFlag{Name: "out", Usage: "with a store CHAIN: also write the signed chain as `DIR`/<chain>.signed.json, beside its layers, for local media (mode.from)"},
		},
		Action: func(ctx context.Context, c *cli.Command) error {
			if c.Args().Len() != 1 {
				return fmt.Errorf("sign: want one REF or CHAIN, got %d arguments", c.Args().Len())
			}
			key, err := trust.LoadSigner(c.String("key"), trust.PasswordFromEnv())
			if err != nil {
				return fmt.Errorf("sign: %w", err)
			}
			ann, err := annotations(c.StringSlice("annotation"))
			if err != nil {
				return err
			}
			if ref := c.Args().First(); !strings.Contains(ref, "/") {
				s, err := store.Open(c.String("store"))
				if err != nil {
					return err
				}
				repo, d, err := trust.SignStore(s, ref, key, ann)
				if err != nil {
					return fmt.Errorf("sign %s: %w", ref, err)
				}
				fmt.Fprintf(os.Stderr, "signed %s (%s@%s) in the store with key %s\n", ref, repo, d, trust.KeyID(key.Public()))
				if out := c.String("out"); out != "" {
					file, err := trust.WriteSigned(s, repo, string(d), out)
					if err != nil {
						return fmt.Errorf("sign %s: %w", ref, err)
					}
					fmt.Fprintf(os.Stderr, "wrote %s\n", file)
				}
				fmt.Println(d)
				return nil
			}
			if c.String("out") != "" {
				return fmt.Errorf("sign: --out writes a store CHAIN's signed file; %s is a registry reference", c.Args().First())
			}
			d, err := signRef(ctx, trustRemote(c), key, c.Args().First(), ann)
			if err != nil {
				return err
			}
			fmt.Println(d)
			return nil
		},
	}
}

// signRef signs the manifest ref names and attaches the signature
// (trust.Remote.SignRef); it returns REPO@DIGEST.
func signRef(ctx context.Context, r trust.Remote, key crypto.Signer, ref string, ann map[string]any) (string, error) {
	d, err := r.SignRef(ctx, key, ref, ann)
	if err != nil {
		return "", fmt.Errorf("sign %s: %w", ref, err)
	}
	fmt.Fprintf(os.Stderr, "signed %s with key %s\n", d, trust.KeyID(key.Public()))
	return d.String(), nil
}

// annotations parses KEY=VALUE pairs.
func annotations(kvs []string) (map[string]any, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := map[string]any{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--annotation %q: want KEY=VALUE", kv)
		}
		m[k] = v
	}
	return m, nil
}

// signPushed signs the manifest digest d just pushed to ref.
func signPushed(ctx context.Context, r trust.Remote, key crypto.Signer, ref string, d digest.Digest) error {
	if key == nil {
		return nil
	}
	_, err := signRef(ctx, r, key, trust.PinnedRef(ref, string(d)), nil)
	return err
}

// pushSignatures carries the store's signatures of the chain at repo:ref
// to pushRef, where the push gave it digest d (trust.Remote.PushSignatures).
func pushSignatures(ctx context.Context, r trust.Remote, s *store.Store, repo, ref, pushRef string, d digest.Digest) error {
	n, err := r.PushSignatures(ctx, s, repo, ref, pushRef, d)
	switch {
	case errors.Is(err, trust.ErrRewritten): // the chain is pushed; say why unsigned
		fmt.Fprintf(os.Stderr, "mode push: %v; sign it there with mode sign\n", err)
		return nil
	case err != nil:
		return fmt.Errorf("push %w", err)
	case n > 0:
		fmt.Fprintf(os.Stderr, "pushed %d signature(s) of %s:%s from the store\n", n, repo, ref)
	}
	return nil
}

// pullSignatures keeps the signatures the registry holds for the manifest d
// just pulled from ref in the store (trust.Remote.PullSignatures).
func pullSignatures(ctx context.Context, r trust.Remote, s *store.Store, ref string, d digest.Digest) error {
	kept, err := r.PullSignatures(ctx, s, ref, d)
	switch {
	case errors.Is(err, trust.ErrNotFetched): // the chain is pulled; say what its signatures lack
		fmt.Fprintf(os.Stderr, "mode pull: the chain's signatures were not kept: %v\n", err)
		return nil
	case err != nil:
		return fmt.Errorf("pull %w", err)
	case kept > 0:
		fmt.Fprintf(os.Stderr, "kept %d signature(s) of %s in the store\n", kept, d)
	}
	return nil
}
