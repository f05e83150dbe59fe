package main

import (
	"encoding/json"
	"io"
	"os"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/modules"
	"github.com/mode-build/mode/registry/store"
	"github.com/urfave/cli/v3"
)

// The --json documents of build, tree, pull and push (docs/cli.md); inspect
// has its own. Each is one JSON object on stdout; progress and logs stay on
// stderr.

// BuildJSON is mode build --json.
type BuildJSON struct {
	Layers []BuildLayer   `json:"layers"` // in build order, parents first
	Stored []StoredChains `json:"stored"` // chains added to the store (none with --no-store or when unchanged)
}

// BuildLayer is one module's layer in BuildJSON.
type BuildLayer struct {
	Module   string        `json:"module"`
	File     string        `json:"file"`
	Path     string        `json:"path"`
	Digest   string        `json:"digest"`
	Size     int64         `json:"size"`
	State    string        `json:"state"`   // "built" or "cached"
	Seconds  float64       `json:"seconds"` // this run's time for it
	Pruned   layers.Pruned `json:"pruned"`
	Excluded layers.Pruned `json:"excluded"`
}

// StoredChains is one chain added to the store.
type StoredChains struct {
	Ref    string `json:"ref"` // REPO:TAG
	Digest string `json:"digest"`
}

// TreeJSON is mode tree --json.
type TreeJSON struct {
	Modules []TreeModule `json:"modules"` // depth first, parents before children
}

// TreeModule is one module in TreeJSON.
type TreeModule struct {
	Name   string `json:"name"`
	Parent string `json:"parent,omitempty"`
	Depth  int    `json:"depth"`          // 0 for a base
	State  string `json:"state"`          // built, stale or missing
	File   string `json:"file,omitempty"` // when built
	Size   int64  `json:"size,omitempty"` // when built
	Note   string `json:"note,omitempty"` // e.g. "signed (1)"
}

// TransferJSON is mode pull --json and mode push --json.
type TransferJSON struct {
	Ref    string          `json:"ref"`    // the registry reference given
	Digest string          `json:"digest"` // the chain's manifest digest
	Chain  string          `json:"chain"`  // the chain name
	Layers []TransferLayer `json:"layers"` // base first
}

// TransferLayer is one layer in TransferJSON.
type TransferLayer struct {
	File   string `json:"file"`
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

// printJSON writes v indented to c's writer (stdout).
func printJSON(c *cli.Command, v any) error {
	var w io.Writer = os.Stdout
	if c.Root().Writer != nil {
		w = c.Root().Writer
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func buildLayer(r modules.Result) BuildLayer {
	state := "built"
	if r.Cached {
		state = "cached"
	}
	return BuildLayer{Module: r.Module.Name, File: r.Meta.File, Path: r.Path, Digest: r.Meta.Digest, Size: r.Meta.Size,
		State: state, Seconds: r.Duration.Seconds(), Pruned: r.Meta.Pruned, Excluded: r.Meta.Excluded}
}

func transferJSON(ref, d string, c *store.Chain) TransferJSON {
	t := TransferJSON{Ref: ref, Digest: d, Layers: []TransferLayer{}}
	if c != nil {
		t.Chain = c.Name
		for _, m := range c.Layers {
			t.Layers = append(t.Layers, TransferLayer{File: m.File, Digest: m.Digest, Size: m.Size})
		}
	}
	return t
}

// treeJSON lists h's modules depth first with their state.
func treeJSON(h *modules.Hierarchy, state func(string) (modules.State, layers.Meta, error), marks ...func(string) string) (TreeJSON, error) {
	out := TreeJSON{Modules: []TreeModule{}}
	var walk func(name, parent string, depth int) error
	walk = func(name, parent string, depth int) error {
		st, meta, err := state(name)
		if err != nil {
			return err
		}
		m := TreeModule{Name: name, Parent: parent, Depth: depth, State: st.String()}
		if st == modules.Built {
			m.File, m.Size = meta.File, meta.Size
		}
		for _, mark := range marks {
			if n := mark(name); n != "" {
				m.Note = n
			}
		}
		out.Modules = append(out.Modules, m)
		for _, kid := range h.Children(name) {
			if err := walk(kid, name, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for _, r := range h.Roots() {
		if err := walk(r, "", 0); err != nil {
			return out, err
		}
	}
	return out, nil
}
