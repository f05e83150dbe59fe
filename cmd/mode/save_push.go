package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/trust"
	"github.com/urfave/cli/v3"
)

// bootedPushOptions are the registry options of mode save --push: the
// command's, plus what the boot said when the command does not: plain HTTP
// when the system booted with mode.insecure, and the push token of
// mode.token (RUN/token, written by the init), and the site CA the system
// booted with (RUN/ca.crt, from the initramfs) unless --ca names one.
func bootedPushOptions(c *cli.Command, run string, b *layers.Booted) ([]remote.Option, func(), error) {
	opts, done, err := transferOptions(c)
	if err != nil {
		return nil, nil, err
	}
	if c.String("ca") == "" {
		if _, err := os.Stat(layers.CAFile(run)); err == nil {
			t, err := remote.CATransport(layers.CAFile(run))
			if err != nil {
				return nil, nil, fmt.Errorf("save --push: %w", err)
			}
			opts = append(opts, remote.WithTransport(t))
		}
	}
	if !c.Bool("insecure") && b.Insecure {
		opts = append(opts, remote.WithInsecure(true))
	}
	if c.String("token") == "" {
		data, err := os.ReadFile(layers.TokenFile(run))
		switch {
		case err == nil:
			if t := strings.TrimSpace(string(data)); t != "" {
				opts = append(opts, remote.WithAuth(&authn.Bearer{Token: t}))
			}
		case !errors.Is(err, os.ErrNotExist):
			return nil, nil, fmt.Errorf("save --push: the push token: %w", err)
		}
	}
	return opts, done, nil
}

// bootedTrustRemote is the registry access of mode save --push --sign: the
// command's flags, plus plain HTTP when the system booted with
// mode.insecure and the push token of mode.token, as bootedPushOptions.
func bootedTrustRemote(c *cli.Command, run string, b *layers.Booted) trust.Remote {
	r := trustRemote(c)
	r.Insecure = r.Insecure || b.Insecure
	if r.Auth == nil {
		if data, err := os.ReadFile(layers.TokenFile(run)); err == nil {
			if t := strings.TrimSpace(string(data)); t != "" {
				r.Auth = &authn.Bearer{Token: t}
			}
		}
	}
	return r
}
