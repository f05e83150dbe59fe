// The flags several commands share, and what they ask for (remote options,
// registry access, a signer), in one place (containerd's commands.go habit).

package main

import (
	"crypto"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/registry/trust"
	"github.com/urfave/cli/v3"
)

// compressionUsage tells the --compression syntax.
const compressionUsage = "squashfs compression `NAME[:LEVEL]`: zstd[:1-22], gzip[:1-9], xz, lz4[:hc]"

// compressionFlag is the --compression flag of build, shell --save, save
// and pack (what names the layers' squashfs compression and level).
func compressionFlag(what string) *cli.StringFlag {
	return &cli.StringFlag{Name: "compression", Value: layers.DefaultCompression, Usage: compressionUsage + what}
}

// checkCompression checks the --compression flag of command cmd.
func checkCompression(cmd string, c *cli.Command) error {
	if err := layers.CheckCompression(c.String("compression")); err != nil {
		return fmt.Errorf("%s --compression: %w", cmd, err)
	}
	return nil
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

// signFlag is --sign KEY of the commands that push.
func signFlag() cli.Flag {
	return &cli.StringFlag{Name: "sign", Usage: "sign what was pushed with the private `KEY` (see mode sign)"}
}

// signerOf loads the key of --sign, or nil without the flag: before
// anything is pushed, so that a bad key pushes nothing.
func signerOf(c *cli.Command) (crypto.Signer, error) {
	if c.String("sign") == "" {
		return nil, nil
	}
	k, err := trust.LoadSigner(c.String("sign"), trust.PasswordFromEnv())
	if err != nil {
		return nil, fmt.Errorf("--sign: %w", err)
	}
	return k, nil
}

// trustRemote is the registry access of --insecure and --token.
func trustRemote(c *cli.Command) trust.Remote {
	r := trust.Remote{Insecure: c.Bool("insecure")}
	if t := c.String("token"); t != "" {
		r.Auth = &authn.Bearer{Token: t}
	}
	return r
}

func jsonFlag() cli.Flag {
	return &cli.BoolFlag{Name: "json", Usage: "print the result as one JSON object on stdout (schema: docs/cli.md)"}
}

func runDirFlag() cli.Flag {
	return &cli.StringFlag{Name: "run-dir", Value: layers.RunDir, Usage: "the booted system's run `DIR` (chain.json, layers/, changes/)"}
}
