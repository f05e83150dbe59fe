package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/modules"
	"github.com/mode-build/mode/modules/maker"
	"github.com/mode-build/mode/registry/store"
	"github.com/urfave/cli/v3"
)

func buildCommand() *cli.Command {
	return &cli.Command{
		Name:      "build",
		Usage:     "build the layers of the named modules' chains (all modules when none)",
		ArgsUsage: "[MODULE...]",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "dir", Value: ".", Usage: "the hierarchy `DIR` of module files"},
			&cli.StringFlag{Name: "out", Value: "./out", Usage: "the output `DIR` for layers and their metadata"},
			&cli.BoolFlag{Name: "force", Usage: "rebuild even the layers that are up to date"},
			compressionFlag(""),
			&cli.StringFlag{Name: "scratch", Usage: "`DIR` for workspaces while building (default: the system's temp dir)"},
			&cli.StringFlag{Name: "store", Value: store.DefaultStore(), Usage: "the local store `DIR` the built chains are added to"},
			&cli.StringFlag{Name: "repo", Usage: "the store's repository `NAME` of the built chains (default: the hierarchy directory's name)"},
			&cli.BoolFlag{Name: "no-store", Usage: "do not add the built chains to the local store"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: defaultBuildJobs(), Usage: "modules built at once, each layer squashed while its children build on its tree (0: one after the other, no pipelining)"},
			archFlag(),
			jsonFlag(),
		}, aptListsFlags()...),
		Action: func(ctx context.Context, c *cli.Command) error {
			if err := needRoot("build"); err != nil {
				return err
			}
			if done, err := privateMounts(c); done {
				return err
			}
			if err := checkCompression("build", c); err != nil {
				return err
			}
			jobs, err := buildJobs(int(c.Int("jobs")))
			if err != nil {
				return err
			}
			listsAge, err := aptListsMaxAge(c)
			if err != nil {
				return err
			}
			h, err := modules.Load(c.String("dir"))
			if err != nil {
				return err
			}
			arch, err := h.BuildArch(c.String("arch"), c.Args().Slice()...)
			if err != nil {
				return err
			}
			mk := &maker.Maker{Scratch: c.String("scratch"), Compression: c.String("compression"),
				Stdout: os.Stderr, Stderr: os.Stderr, Arch: arch, AptListsMaxAge: listsAge}
			clearLine := func() {}
			if !c.Root().Bool("quiet") { // a status line on a terminal, else a line per phase
				view := newBuildView(os.Stderr)
				defer view.Close()
				mk.Progress, mk.Stdout, mk.Stderr = view.Phase, view.Output(), view.Output()
				if view.tty { // bars only on a terminal: elsewhere mksquashfs and apt run as ever
					mk.Fraction = view.Fraction
				}
				clearLine = view.Clear
			}
			b := &modules.Builder{
				Hierarchy:   h,
				Out:         modules.ArchOut(c.String("out"), arch),
				Arch:        arch,
				Compression: c.String("compression"),
				Force:       c.Bool("force"),
				Maker:       mk,
				Jobs:        jobs,
				Report:      func(r modules.Result) { clearLine(); fmt.Println(resultLine(r)) },
			}
			var doc BuildJSON
			if c.Bool("json") {
				doc = BuildJSON{Layers: []BuildLayer{}, Stored: []StoredChains{}}
				b.Report = func(r modules.Result) { doc.Layers = append(doc.Layers, buildLayer(r)) }
			}
			unlock, err := mk.Lock(b.Out)
			if err != nil {
				return err
			}
			defer unlock()
			results, err := b.Build(ctx, c.Args().Slice()...)
			if err != nil {
				return err
			}
			if c.Bool("no-store") {
				if c.Bool("json") {
					return printJSON(c, doc)
				}
				return nil
			}
			repo := c.String("repo")
			if repo == "" {
				repo = hierarchyRepo(c.String("dir"))
			} else if !store.ValidRepository(repo) {
				return fmt.Errorf("build: --repo %q: not a repository name (lower case, digits, . _ - and /)", repo)
			}
			stored := func(ref, d string) { fmt.Printf("stored %-40s %s\n", ref, d) }
			if c.Bool("json") {
				stored = func(ref, d string) { doc.Stored = append(doc.Stored, StoredChains{Ref: ref, Digest: d}) }
			}
			if err := storeChains(ctx, c.String("store"), repo, arch, results, stored); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, doc)
			}
			return nil
		},
	}
}

// hierarchyRepo is the repository of the chains of the hierarchy in dir:
// the directory's name, made a repository name (store.RepositoryFor).
func hierarchyRepo(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return store.DefaultRepository
	}
	return store.RepositoryFor(filepath.Base(abs))
}

// storeChains adds every chain of results to the store at dir, tagged with
// its module's name in repo (NAME-ARCH for another architecture than amd64:
// modules.ArchTag), unless repo has it with the same layers already.
func storeChains(ctx context.Context, dir, repo, arch string, results []modules.Result, stored func(ref, digest string)) error {
	s, err := store.Open(dir)
	if err != nil {
		return err
	}
	if _, err := s.SweepTemp(); err != nil { // what killed builds left
		return err
	}
	byName := map[string]modules.Result{}
	for _, r := range results {
		byName[r.Module.Name] = r
	}
	for _, r := range results {
		var ls []store.Layer
		for _, n := range r.Meta.Chain {
			ls = append(ls, store.Layer{Path: byName[n].Path, Meta: byName[n].Meta})
		}
		tag := modules.ArchTag(r.Module.Name, arch)
		if stored, _, _, err := s.Chain(repo, tag); err == nil && sameLayers(stored.Layers, ls) {
			continue
		}
		d, err := s.AddChainAs(ctx, repo, tag, r.Module.Name, ls)
		if err != nil {
			return fmt.Errorf("store %s: %w", dir, err)
		}
		stored(repo+":"+tag, d.String())
	}
	return nil
}

func sameLayers(stored []layers.Meta, ls []store.Layer) bool {
	if len(stored) != len(ls) {
		return false
	}
	for i := range stored {
		if stored[i].Digest != ls[i].Meta.Digest || stored[i].File != ls[i].Meta.File {
			return false
		}
	}
	return true
}

// resultLine is the one line a built or cached module gets.
func resultLine(r modules.Result) string {
	state := "built "
	if r.Cached {
		state = "cached"
	}
	line := fmt.Sprintf("%s %-40s %9s %6.1fs", state, r.Meta.File, layers.Size(r.Meta.Size), r.Duration.Seconds())
	if !r.Cached && (r.Meta.Pruned.Files > 0 || r.Meta.Excluded.Files > 0) {
		line += fmt.Sprintf("  pruned %d files (%s), excluded %d (%s)", r.Meta.Pruned.Files,
			layers.Size(r.Meta.Pruned.Bytes), r.Meta.Excluded.Files, layers.Size(r.Meta.Excluded.Bytes))
	}
	return line
}
