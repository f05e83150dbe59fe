package main

import (
	"context"
	"fmt"
	"os"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/recompress"
	"github.com/mode-build/mode/registry/store"
	"github.com/urfave/cli/v3"
)

func recompressCommand() *cli.Command {
	return &cli.Command{
		Name:      "recompress",
		Usage:     "store a chain again with another compression, for what a large fleet downloads",
		ArgsUsage: "[REPO:]CHAIN",
		Description: "Squashes each layer of the chain again from its mount with --compression (xz or\n" +
			"zstd:19: smaller, slower to make), appends new verity trees, and stores the chain\n" +
			"under --tag (default CHAIN-NAME, e.g. console-xz) in the same repository, with its\n" +
			"metadata rewritten to the new digests. Push that tag (mode push REPO:console-xz\n" +
			"HOST/REPO:console). Layers that have the compression already are kept. Needs root.",
		Flags: []cli.Flag{
			storeFlag(),
			&cli.StringFlag{Name: "compression", Value: "xz", Usage: compressionUsage},
			&cli.StringFlag{Name: "tag", Usage: "the new chain's `TAG` (default: CHAIN-COMPRESSION, e.g. console-xz, console-zstd19)"},
			jsonFlag(),
		},
		Action: func(ctx context.Context, c *cli.Command) error {
			if c.Args().Len() != 1 {
				return fmt.Errorf("recompress: want one CHAIN, got %d arguments", c.Args().Len())
			}
			comp, err := layers.ParseCompression(c.String("compression"))
			if err != nil {
				return fmt.Errorf("recompress --compression: %w", err)
			}
			if err := needRoot("recompress"); err != nil {
				return err
			}
			if done, err := privateMounts(c); done {
				return err
			}
			s, err := store.Open(c.String("store"))
			if err != nil {
				return err
			}
			repo, ref, err := s.Find(c.Args().Get(0))
			if err != nil {
				return fmt.Errorf("recompress: %w", err)
			}
			ch, _, _, err := s.Chain(repo, ref)
			if err != nil {
				return fmt.Errorf("recompress: %w", err)
			}
			tag := c.String("tag")
			if tag == "" {
				tag = ch.Name + "-" + comp.Name
				if comp.Level > 0 {
					tag += fmt.Sprint(comp.Level)
				} else if comp.HC {
					tag += "hc"
				}
			}
			if !store.ValidTag(tag) {
				return fmt.Errorf("recompress --tag %q: not a tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})", tag)
			}
			res, err := recompress.Chain(ctx, s, repo, ref, tag, comp.String())
			if err != nil {
				return fmt.Errorf("recompress %s:%s: %w", repo, ref, err)
			}
			if c.Bool("json") {
				return printJSON(c, RecompressJSON{Ref: repo + ":" + tag, Digest: res.Manifest.String(), Compression: comp.String(), Layers: res.Layers})
			}
			for _, l := range res.Layers {
				fmt.Fprintf(os.Stderr, "%-40s %9s → %9s\n", l.File, layers.Size(l.Before), layers.Size(l.Size))
			}
			fmt.Printf("stored %-40s %s\n", repo+":"+tag, res.Manifest)
			return nil
		},
	}
}

// RecompressJSON is mode recompress --json: the new chain and its layers.
type RecompressJSON struct {
	Ref         string             `json:"ref"`
	Digest      string             `json:"digest"`
	Compression string             `json:"compression"`
	Layers      []recompress.Layer `json:"layers"`
}
