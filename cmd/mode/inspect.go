package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/urfave/cli/v3"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/squashfs"
)

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "list a layer's entries (whiteouts and opaque dirs marked), with its metadata when FILE.json is beside it",
		ArgsUsage: "FILE.sqfs",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: `print {"meta": …, "entries": […]}`},
		},
		Action: func(ctx context.Context, c *cli.Command) error {
			if c.NArg() != 1 {
				return fmt.Errorf("inspect: want one FILE.sqfs, got %d arguments", c.NArg())
			}
			path := c.Args().First()
			meta, err := readLayerMeta(path)
			if err != nil {
				return err
			}
			entries, err := squashfs.Inspect(path)
			if err != nil {
				return fmt.Errorf("inspect: %w", err)
			}
			w := c.Root().Writer
			if c.Bool("json") {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Meta    *layers.Meta     `json:"meta"`
					Entries []squashfs.Entry `json:"entries"`
				}{meta, entries})
			}
			if meta != nil {
				printLayerMeta(w, meta)
				fmt.Fprintln(w)
			}
			for _, e := range entries {
				printLayerEntry(w, e)
			}
			return nil
		},
	}
}

// readLayerMeta reads FILE.json beside FILE.sqfs; nil when there is none.
func readLayerMeta(sqfs string) (*layers.Meta, error) {
	base, ok := strings.CutSuffix(sqfs, ".sqfs")
	if !ok {
		return nil, nil
	}
	b, err := os.ReadFile(base + ".json")
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	var m layers.Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("inspect: %s.json: %w", base, err)
	}
	return &m, nil
}

func printLayerMeta(w io.Writer, m *layers.Meta) {
	row := func(k, f string, a ...any) { fmt.Fprintf(w, "%-13s %s\n", k+":", fmt.Sprintf(f, a...)) }
	row("name", "%s", m.Name)
	row("chain", "%s", strings.Join(m.Chain, " > "))
	if m.File != "" {
		row("file", "%s", m.File)
	}
	if m.Key != "" {
		row("key", "%s", m.Key)
	}
	row("digest", "%s", m.Digest)
	row("size", "%s (%d bytes)", layers.Size(m.Size), m.Size)
	row("compression", "%s", m.Compression)
	if !m.Built.IsZero() {
		row("built", "%s in %.1f s", m.Built.UTC().Format("2006-01-02 15:04:05 UTC"), m.Seconds)
	}
	row("pruned", "%d files, %s", m.Pruned.Files, layers.Size(m.Pruned.Bytes))
	row("verity", "%s", verityLine(m.Verity))
	for i, d := range m.ParentDigests {
		row(fmt.Sprintf("parent %d", i), "%s", d)
	}
	if p := m.Packages; p != nil {
		row("packages", "%d added, %d removed, %d upgraded", len(p.Added), len(p.Removed), len(p.Upgraded))
		for _, l := range []struct {
			what string
			pkgs []layers.Package
		}{{"added", p.Added}, {"removed", p.Removed}, {"upgraded", p.Upgraded}} {
			for _, pkg := range l.pkgs {
				if pkg.From != "" {
					fmt.Fprintf(w, "  %-9s %s %s (from %s)\n", l.what, pkg.Name, pkg.Version, pkg.From)
				} else {
					fmt.Fprintf(w, "  %-9s %s %s\n", l.what, pkg.Name, pkg.Version)
				}
			}
		}
	}
}

// printLayerEntry writes one ls-like line per entry, then its xattrs indented.
func printLayerEntry(w io.Writer, e squashfs.Entry) {
	if e.Whiteout {
		fmt.Fprintf(w, "deleted  %s\n", e.Path)
		return
	}
	size := "-"
	switch e.Type {
	case squashfs.TypeFile:
		size = fmt.Sprint(e.Size)
	case squashfs.TypeChar, squashfs.TypeBlock:
		size = fmt.Sprintf("%d,%d", e.Major, e.Minor)
	}
	line := fmt.Sprintf("%s %2d %11s %10s  %s", e.ModeString(), e.Nlink, fmt.Sprintf("%d/%d", e.UID, e.GID), size, e.Path)
	switch {
	case e.Type == squashfs.TypeSymlink:
		line += " -> " + e.Target
	case e.Opaque:
		line += "  (opaque: replaces the lower directory)"
	}
	fmt.Fprintln(w, line)
	names := make([]string, 0, len(e.Xattrs))
	for k := range e.Xattrs {
		if !(e.Opaque && k == squashfs.OpaqueXattr) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(w, "    xattr %s=%s\n", k, squashfs.XattrText(e.Xattrs[k]))
	}
}
