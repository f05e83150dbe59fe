package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/modules"
	"github.com/urfave/cli/v3"
)

func treeCommand() *cli.Command {
	return &cli.Command{
		Name:  "tree",
		Usage: "show the module hierarchy as a tree, with each layer's state and size",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: ".", Usage: "the hierarchy `DIR` of module files"},
			&cli.StringFlag{Name: "out", Value: "./out", Usage: "the output `DIR` of built layers"},
			&cli.StringFlag{Name: "compression", Usage: "compression the layers are built with (default " + layers.DefaultCompression + ")"},
			storeFlag(), jsonFlag(), archFlag(),
		},
		Action: func(ctx context.Context, c *cli.Command) error {
			if comp := c.String("compression"); comp != "" {
				if err := layers.CheckCompression(comp); err != nil {
					return err
				}
			}
			h, err := modules.Load(c.String("dir"))
			if err != nil {
				return err
			}
			arch, err := h.BuildArch(c.String("arch"))
			if err != nil {
				return err
			}
			b := &modules.Builder{Hierarchy: h, Out: modules.ArchOut(c.String("out"), arch), Compression: c.String("compression"), Arch: arch}
			w := c.Root().Writer
			if w == nil {
				w = os.Stdout
			}
			if c.Bool("json") {
				doc, err := treeJSON(h, b.State, signedMark(c.String("store")))
				if err != nil {
					return err
				}
				return printJSON(c, doc)
			}
			return writeTree(w, h, b.State, signedMark(c.String("store")))
		},
	}
}

// treeRow is one line of the tree: connectors and name, state, size, notes.
type treeRow struct{ label, state, size, note string }

// writeTree prints h's modules as a tree with box-drawing connectors, each
// with its state and, when built, its layer size; columns aligned. Each
// mark adds its note about a module, when it has one.
func writeTree(w io.Writer, h *modules.Hierarchy, state func(string) (modules.State, layers.Meta, error), marks ...func(string) string) error {
	var rows []treeRow
	var walk func(name, prefix, connector string) error
	walk = func(name, prefix, connector string) error {
		st, meta, err := state(name)
		if err != nil {
			return fmt.Errorf("module %s: %w", name, err)
		}
		row := treeRow{label: prefix + connector + name, state: st.String()}
		if st == modules.Built {
			row.size = layers.Size(meta.Size)
		}
		for _, mark := range marks {
			if n := mark(name); n != "" {
				row.note = strings.TrimSpace(row.note + "  " + n)
			}
		}
		rows = append(rows, row)
		kids := h.Children(name)
		for i, kid := range kids {
			next, conn := prefix, "├── "
			switch connector {
			case "├── ":
				next += "│   "
			case "└── ":
				next += "    "
			}
			if i == len(kids)-1 {
				conn = "└── "
			}
			if err := walk(kid, next, conn); err != nil {
				return err
			}
		}
		return nil
	}
	for _, r := range h.Roots() {
		if err := walk(r, "", ""); err != nil {
			return err
		}
	}
	labelW, stateW, sizeW := 0, 0, 0
	for _, r := range rows {
		labelW = max(labelW, len([]rune(r.label)))
		stateW = max(stateW, len(r.state))
		if r.note != "" {
			sizeW = max(sizeW, len(r.size))
		}
	}
	for _, r := range rows {
		pad := strings.Repeat(" ", labelW-len([]rune(r.label)))
		line := fmt.Sprintf("%s%s  %-*s  %-*s  %s", r.label, pad, stateW, r.state, sizeW, r.size, r.note)
		if _, err := fmt.Fprintln(w, strings.TrimRight(line, " ")); err != nil {
			return err
		}
	}
	return nil
}
