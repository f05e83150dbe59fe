package modules

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/verity"
)

// Builder runs a build plan through a Maker into an output directory:
// Out/CHAIN.sqfs and, beside it, Out/CHAIN.json (a layers.Meta with the key).
type Builder struct {
	Hierarchy   *Hierarchy
	Maker       Maker
	Out         string       // output directory, created if missing
	Compression string       // NAME[:LEVEL], "" for layers.DefaultCompression; its canonical form salts the keys
	Force       bool         // rebuild even when cached
	Report      func(Result) // called after each module, in plan order (may be nil)
	// Jobs, when above 0 and Maker is a TreeMaker, pipelines the build
	// (pipeline.go): up to Jobs modules make their trees at once, and each
	// layer is squashed while its children build on its tree. 0 builds one
	// module after the other, each squashed before the next starts.
	Jobs int
	// Arch is the architecture built for (Arches); "" is DefaultArch. It
	// goes into every key (but DefaultArch's) and every layer's metadata.
	// Out is the caller's: ArchOut keeps two architectures apart.
	Arch string
}

// arch is b.Arch, DefaultArch when empty.
func (b *Builder) arch() string {
	if b.Arch == "" {
		return DefaultArch
	}
	return b.Arch
}

// Result is what became of one module in a Build.
type Result struct {
	Module   *Module
	Path     string // Out/CHAIN.sqfs
	Meta     layers.Meta
	Cached   bool // the layer was up to date and not made again
	Duration time.Duration
}

// State is where a module's layer stands in the output directory.
type State int

const (
	Missing State = iota // no layer file
	Stale                // a layer file, but its metadata is missing or has another key
	Built                // a layer file whose metadata has the module's current key
)

func (s State) String() string {
	switch s {
	case Missing:
		return "missing"
	case Stale:
		return "stale"
	case Built:
		return "built"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// compression is b.Compression's canonical form ("zstd:9" for "" and
// "zstd"): the salt of every key, so that another level rebuilds.
func (b *Builder) compression() (string, error) {
	return layers.CanonicalCompression(b.Compression)
}

// paths returns Out/CHAIN.sqfs and Out/CHAIN.json for name.
func (b *Builder) paths(name string) (sqfs, meta string) {
	c := filepath.Join(b.Out, b.Hierarchy.ChainName(name))
	return c + ".sqfs", c + ".json"
}

// State tells whether name's layer in Out is missing, stale or built with
// the current key, and returns its metadata when there is some.
func (b *Builder) State(name string) (State, layers.Meta, error) {
	comp, err := b.compression()
	if err != nil {
		return Missing, layers.Meta{}, err
	}
	key, err := b.Hierarchy.KeyFor(name, comp, b.arch())
	if err != nil {
		return Missing, layers.Meta{}, err
	}
	return b.state(name, key)
}

func (b *Builder) state(name, key string) (State, layers.Meta, error) {
	sqfs, metaPath := b.paths(name)
	if _, err := os.Stat(sqfs); errors.Is(err, os.ErrNotExist) {
		return Missing, layers.Meta{}, nil
	} else if err != nil {
		return Missing, layers.Meta{}, err
	}
	var meta layers.Meta
	data, err := os.ReadFile(metaPath)
	if errors.Is(err, os.ErrNotExist) {
		return Stale, meta, nil
	} else if err != nil {
		return Stale, meta, err
	}
	if err := json.Unmarshal(data, &meta); err != nil || meta.Key != key {
		return Stale, meta, nil // unreadable metadata is rebuilt, not fatal
	}
	return Built, meta, nil
}

// Build makes the layers of the plan of names (every module when none) that
// are not built with their current key, parents first, and returns a Result
// per module handled. On failure it returns the results so far and an error
// naming the module; it leaves no partial file in Out.
func (b *Builder) Build(ctx context.Context, names ...string) ([]Result, error) {
	comp, err := b.compression()
	if err != nil {
		return nil, err
	}
	plan, err := b.Hierarchy.Plan(names...)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(b.Out, 0o755); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	if pt, ok := b.Maker.(PlanTaker); ok {
		pt.TakePlan(plan)
	}
	if tm, ok := b.Maker.(TreeMaker); ok && b.Jobs > 0 {
		return b.pipeline(ctx, tm, plan, comp)
	}
	var results []Result
	for _, m := range plan {
		if err := ctx.Err(); err != nil {
			return results, fmt.Errorf("module %s: %w", m.Name, err)
		}
		r, err := b.one(ctx, m, comp)
		if err != nil {
			return results, fmt.Errorf("module %s: %w", m.Name, err)
		}
		results = append(results, r)
		if b.Report != nil {
			b.Report(r)
		}
	}
	return results, nil
}

// one builds m, or finds it cached.
func (b *Builder) one(ctx context.Context, m *Module, comp string) (Result, error) {
	start := time.Now()
	r, key, err := b.cached(m, comp)
	if err != nil || r.Cached {
		return r, err
	}
	chain, err := b.Hierarchy.Chain(m.Name)
	if err != nil {
		return Result{}, err
	}
	var parents []string
	for _, a := range chain[:len(chain)-1] {
		p, _ := b.paths(a.Name)
		parents = append(parents, p)
	}
	dst := b.temp(m)
	defer os.Remove(dst) // a no-op once renamed
	made, err := b.Maker.Make(ctx, m, parents, dst)
	if err != nil {
		return Result{}, err
	}
	if err := b.seal(&r, key, comp, dst, made, start); err != nil {
		return Result{}, err
	}
	return r, b.place(r, dst)
}

// cached returns m's Result with Cached set when its layer is up to date
// (and Force not set), and m's key.
func (b *Builder) cached(m *Module, comp string) (Result, string, error) {
	start := time.Now()
	key, err := b.Hierarchy.KeyFor(m.Name, comp, b.arch())
	if err != nil {
		return Result{}, "", err
	}
	sqfs, _ := b.paths(m.Name)
	r := Result{Module: m, Path: sqfs}
	if !b.Force {
		st, meta, err := b.state(m.Name, key)
		if err != nil {
			return Result{}, "", err
		}
		if st == Built {
			r.Meta, r.Cached, r.Duration = meta, true, time.Since(start)
		}
	}
	return r, key, nil
}

// temp is a temporary path in Out for m's layer.
func (b *Builder) temp(m *Module) string {
	sqfs, _ := b.paths(m.Name)
	return filepath.Join(b.Out, "."+filepath.Base(sqfs)+".tmp-"+random())
}

// seal appends the hash tree to the layer the maker made at dst and fills
// r's Meta (made has what only making it told).
func (b *Builder) seal(r *Result, key, comp, dst string, made layers.Meta, start time.Time) error {
	m := r.Module
	chain, err := b.Hierarchy.Chain(m.Name)
	if err != nil {
		return err
	}
	var names []string
	for _, a := range chain {
		names = append(names, a.Name)
	}
	vp, digest, size, err := verity.AppendDigest(dst)
	if err != nil {
		return fmt.Errorf("layer made by the maker: %w", err)
	}
	r.Duration = time.Since(start)
	r.Meta = layers.Meta{
		Name:        m.Name,
		Parent:      m.Parent,
		Chain:       names,
		File:        filepath.Base(r.Path),
		Key:         key,
		Digest:      digest,
		Size:        size,
		Compression: comp,
		Built:       time.Now().UTC(),
		Seconds:     r.Duration.Seconds(),
		Pruned:      made.Pruned,
		Excluded:    made.Excluded,
		Packages:    made.Packages,
		Verity:      vp,
	}
	if a := b.arch(); a != DefaultArch {
		r.Meta.Architecture = a
	}
	return nil
}

// place renames the sealed layer at dst into place and writes its metadata.
func (b *Builder) place(r Result, dst string) error {
	_, metaPath := b.paths(r.Module.Name)
	// The metadata goes last: a crash between the two renames leaves a
	// layer without metadata, which State calls stale.
	if err := os.Remove(metaPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Rename(dst, r.Path); err != nil {
		return err
	}
	return layers.WriteMeta(metaPath, r.Meta)
}

// random returns a short random hex string for temporary names.
func random() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
