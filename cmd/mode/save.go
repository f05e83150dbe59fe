package main

import (
	"context"
	"crypto"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/modules/save"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/store"
	"github.com/opencontainers/go-digest"
	"github.com/urfave/cli/v3"
)

func saveCommand() *cli.Command {
	return &cli.Command{
		Name:  "save",
		Usage: "save a booted system's changes as a new layer on top of its chain",
		Description: "Squashes the overlay upper directory of the running system (/run/mode/changes) with a build's\n" +
			"exclusions and pruning into OUT/<chain>-NAME.sqfs and its .json, without changing the running system\n" +
			"and without copying the changes. The layer records the booted chain's digests: it never mounts over\n" +
			"another chain. OUT must be on a disk: on the overlay root the layer would land in the changes (RAM).\n" +
			"--push publishes the booted chain plus the new layer as REF (default: the repository the system\n" +
			"booted from, tag NAME); only the new layer is uploaded. See docs/save.md.",
		ArgsUsage: "NAME [REF]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "the output `DIR`, on a disk (default: the current directory; with --push alone, a temporary one)"},
			&cli.BoolFlag{Name: "push", Usage: "push the chain plus the new layer to REF, or to the booted repository with tag NAME"},
			compressionFlag(""),
			&cli.StringFlag{Name: "run-dir", Value: layers.RunDir, Usage: "the booted system's run `DIR` (chain.json, layers/, changes/)"},
			insecureFlag(), tokenFlag(), caFlag(), signFlag(),
		},
		Action: func(ctx context.Context, c *cli.Command) error {
			n := c.Args().Len()
			if n < 1 || n > 2 || (n == 2 && !c.Bool("push")) {
				return fmt.Errorf("save: want NAME (and REF with --push), got %d arguments", n)
			}
			if err := checkCompression("save", c); err != nil {
				return err
			}
			if os.Geteuid() != 0 {
				return fmt.Errorf("save: needs root (it reads the whole upper directory and mounts the booted layers to compare)")
			}
			if done, err := privateMounts(c); done {
				return err
			}
			key, err := signerOf(c)
			if err != nil {
				return err
			}
			run, name := c.String("run-dir"), c.Args().First()
			out := c.String("out")
			switch {
			case out == "" && c.Bool("push"):
				tmp, err := os.MkdirTemp(run, ".push-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				out = tmp
			case out == "":
				out = "."
			}
			if save.OnTmpfs(out) {
				fmt.Fprintf(os.Stderr, "mode save: note: %s is in RAM (tmpfs): the compressed layer takes RAM until it is pushed or moved (the changes themselves are not copied)\n", out)
			}
			meta, err := save.SaveChanges(ctx, run, save.Options{Name: name, Out: out, Compression: c.String("compression")})
			if err != nil {
				return err
			}
			if c.String("out") != "" || !c.Bool("push") {
				fmt.Println(savedLine(out, meta))
			}
			if !c.Bool("push") {
				return nil
			}
			return pushSaved(ctx, c, run, filepath.Join(out, meta.File), meta, key)
		},
	}
}

// pushSaved pushes the booted chain plus the saved layer at file.
func pushSaved(ctx context.Context, c *cli.Command, run, file string, meta layers.Meta, key crypto.Signer) error {
	b, err := layers.ReadBooted(run)
	if err != nil {
		return err
	}
	ref := c.Args().Get(1)
	if ref == "" {
		if ref, err = savedRef(b.Ref, meta.Name); err != nil {
			return err
		}
	}
	var ls []store.Layer
	for _, m := range b.Layers {
		ls = append(ls, store.Layer{Path: filepath.Join(layers.LayersDir(run), m.File), Meta: m})
	}
	ls = append(ls, store.Layer{Path: file, Meta: meta})
	src, err := store.NewFiles(meta.Name, ls, digest.Digest(b.Digest))
	if err != nil {
		return err
	}
	opts, done, err := bootedPushOptions(c, run, b)
	if err != nil {
		return err
	}
	defer done()
	start := time.Now()
	d, err := remote.Push(ctx, src, ref, opts...)
	if err != nil {
		return err
	}
	if err := signPushed(ctx, bootedTrustRemote(c, run, b), key, ref, d); err != nil {
		return err
	}
	fmt.Printf("pushed %s %s\n", ref, d)
	reportSave(ctx, c, run, ref, d, meta, b, time.Since(start))
	return nil
}

// savedRef is the default --push reference: the repository of the booted
// reference with tag name.
func savedRef(booted, name string) (string, error) {
	repo := booted
	if i := strings.Index(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	slash := strings.Index(repo, "/")
	if slash <= 0 || strings.HasPrefix(repo, "/") {
		return "", fmt.Errorf("save --push: the system booted %q, not from a registry: give REF (HOST[:PORT]/REPO[:TAG])", booted)
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return repo + ":" + name, nil
}

// savedLine is the one line a saved layer gets.
func savedLine(out string, m layers.Meta) string {
	return fmt.Sprintf("saved %s %s %s %.1fs  pruned %d files (%s), excluded %d (%s)", filepath.Join(out, m.File), m.Digest,
		layers.Size(m.Size), m.Seconds, m.Pruned.Files, layers.Size(m.Pruned.Bytes), m.Excluded.Files, layers.Size(m.Excluded.Bytes))
}
