package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mode-build/mode/boot/uki"
	"github.com/mode-build/mode/registry/trust"
	"github.com/urfave/cli/v3"
)

func keyCommand() *cli.Command {
	return &cli.Command{
		Name:  "key",
		Usage: "make and show signing keys",
		Commands: []*cli.Command{
			{
				Name:      "generate",
				Usage:     "make an ECDSA P-256 key pair: PREFIX.key (0600) and PREFIX.pub; with --secure-boot, a Secure Boot key",
				ArgsUsage: "[PREFIX]",
				Flags: []cli.Flag{&cli.BoolFlag{Name: "secure-boot", Usage: "a Secure Boot signing key instead: RSA-2048 PREFIX.key (0600), " +
					"self-signed code-signing certificate PREFIX.crt (PEM) and PREFIX.cer (DER, to enroll); for mode image --secure-boot-key"}},
				Description: "PREFIX defaults to \"mode\". The private key is in cosign's encrypted PEM format,\n" +
					"encrypted with $COSIGN_PASSWORD (empty when unset), so `cosign sign --key` takes it;\n" +
					"the public key is PKIX PEM, what `cosign verify --key` and `mode initramfs --trust` read.\n" +
					"Prints the key ID. See docs/trust.md.",
				Action: func(ctx context.Context, c *cli.Command) error {
					if c.Args().Len() > 1 {
						return fmt.Errorf("key generate: want at most one PREFIX, got %d arguments", c.Args().Len())
					}
					prefix := c.Args().First()
					if c.Bool("secure-boot") {
						return secureBootKey(prefix)
					}
					if prefix == "" {
						prefix = "mode"
					}
					keyFile, pubFile, err := trust.WriteKeyPair(prefix, trust.PasswordFromEnv())
					if err != nil {
						return fmt.Errorf("key generate: %w", err)
					}
					keys, err := trust.LoadPublicKeys(pubFile)
					if err != nil {
						return err
					}
					fmt.Fprintf(os.Stderr, "wrote %s (private, 0600) and %s (public)\n", keyFile, pubFile)
					fmt.Println(keys[0].ID)
					return nil
				},
			},
			{
				Name:      "id",
				Usage:     "print the key ID of public key files (what mode verify and the init name)",
				ArgsUsage: "KEY.pub...",
				Action: func(ctx context.Context, c *cli.Command) error {
					if c.Args().Len() == 0 {
						return fmt.Errorf("key id: want KEY.pub files")
					}
					keys, err := trust.LoadPublicKeys(c.Args().Slice()...)
					if err != nil {
						return err
					}
					for _, k := range keys {
						fmt.Printf("%s %s\n", k.ID, k.Source)
					}
					return nil
				},
			},
		},
	}
}

// secureBootKey writes a Secure Boot key and certificate (PREFIX, default
// "secureboot") and prints the certificate's file.
func secureBootKey(prefix string) error {
	if prefix == "" {
		prefix = "secureboot"
	}
	s, err := uki.WriteKey(prefix, "mode Secure Boot "+filepath.Base(prefix))
	if err != nil {
		return fmt.Errorf("key generate --secure-boot: %w", err)
	}
	fmt.Fprintf(os.Stderr, "wrote %s (private, 0600), %s and %s.cer (certificate, PEM and DER): enroll the certificate in db (docs/trust.md)\n", s.Key, s.Cert, prefix)
	fmt.Println(s.Cert)
	return nil
}
