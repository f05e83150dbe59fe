package main

import (
	"context"
	"fmt"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/modules"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/store"
	"github.com/urfave/cli/v3"
)

// pushPlatformFlag is push's --platform: push an index of these architectures' chains.
func pushPlatformFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "platform", Usage: "push one image index of the chain built for each `ARCH` (amd64,arm64: the store's CHAIN and CHAIN-arm64) under one tag"}
}

// pullPlatformFlag is --platform for the commands that read a chain: the
// entry they take from an image index.
func pullPlatformFlag() cli.Flag {
	return &cli.StringFlag{Name: "platform", Usage: "the `ARCH` whose chain to take from an image index (default: this machine's)"}
}

// platformOption is WithPlatform of c's --platform, checked.
func platformOption(c *cli.Command) ([]remote.Option, error) {
	p := c.String("platform")
	if p == "" {
		return nil, nil
	}
	if err := modules.CheckArch(p); err != nil {
		return nil, fmt.Errorf("--platform: %w", err)
	}
	return []remote.Option{remote.WithPlatform(p)}, nil
}

// pushIndex pushes the chains of repo:ref for each of c's --platform
// architectures as one image index at dst, signs the index and each entry
// with c's key, carries each chain's stored signatures along, and prints
// the index digest.
func pushIndex(ctx context.Context, c *cli.Command, s *store.Store, repo, ref, dst string, opts []remote.Option) error {
	arches := c.StringSlice("platform")
	var srcs []remote.Source
	var tags []string
	for _, a := range arches {
		if err := modules.CheckArch(a); err != nil {
			return fmt.Errorf("push: --platform: %w", err)
		}
		tag := layers.ArchTag(ref, a)
		src, err := s.Source(repo, tag)
		if err != nil {
			return fmt.Errorf("push: %s chain %s:%s: %w (mode build --arch %s makes it)", a, repo, tag, err, a)
		}
		srcs, tags = append(srcs, src), append(tags, tag)
	}
	key, err := signerOf(c)
	if err != nil {
		return err
	}
	d, entries, err := remote.PushIndex(ctx, srcs, dst, opts...)
	if err != nil {
		return err
	}
	for i, e := range entries {
		if err := signPushed(ctx, trustRemote(c), key, dst, e); err != nil {
			return err
		}
		if err := pushSignatures(ctx, trustRemote(c), s, repo, tags[i], dst, e); err != nil {
			return err
		}
	}
	if err := signPushed(ctx, trustRemote(c), key, dst, d); err != nil {
		return err
	}
	fmt.Println(d)
	return nil
}
