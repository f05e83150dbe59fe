package activate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/remote"
)

// source is a module found for activation: its layer file, its metadata and
// the digests of the layers it was built on, base first.
type source struct {
	file    string
	meta    layers.Meta
	parents []string
	from    string
	pulled  bool // into RunDir/layers by this activation
	// lazy: the layer is to be read lazily (a lazy boot, the layer has
	// verity data): Activate starts its server (openLazy), or pulls it
	// whole (pull) when the registry ignores Range.
	lazy *lazySource
	pull func() error
}

// resolve finds what arg names: a layer file (FILE.sqfs with FILE.json
// beside it), else a tag of the registry the system booted from, else a
// module on the mode.from media it booted from.
func resolve(ctx context.Context, arg string, b *layers.Booted, o Options) (*source, error) {
	if strings.HasSuffix(arg, ".sqfs") || strings.Contains(arg, "/") {
		return fromFile(arg)
	}
	if strings.HasPrefix(b.Ref, "/") {
		return fromMedia(arg, b, o.RunDir)
	}
	return fromRegistry(ctx, arg, b, o)
}

// fromFile reads FILE.json beside file and the parents' digests: recorded
// (a saved layer) or from the parents' FILE.json in the same directory (an
// output directory of mode build), then checks the file's digest.
func fromFile(file string) (*source, error) {
	jf := strings.TrimSuffix(file, ".sqfs") + ".json"
	m, err := readMeta(jf)
	if err != nil {
		return nil, fmt.Errorf("%s: its metadata %s: %w (activate needs it to check the chain the layer was built on)", file, jf, err)
	}
	s := &source{file: file, meta: m, parents: m.ParentDigests, from: file}
	if len(s.parents) == 0 {
		dir := filepath.Dir(file)
		for i := 0; i+1 < len(m.Chain); i++ {
			pf := filepath.Join(dir, strings.Join(m.Chain[:i+1], "-")+".json")
			pm, err := readMeta(pf)
			if err != nil {
				return nil, fmt.Errorf("%s: parent %s: %w (activate needs the parents' metadata beside the layer to check its chain)", file, pf, err)
			}
			s.parents = append(s.parents, pm.Digest)
		}
	}
	if err := verify(file, m); err != nil {
		return nil, err
	}
	return s, nil
}

// verify checks a layer file against the digest its metadata records.
func verify(file string, m layers.Meta) error {
	if m.Digest == "" {
		return fmt.Errorf("%s: its metadata records no digest", file)
	}
	got, _, err := layers.FileDigest(file)
	if err != nil {
		return err
	}
	if got != m.Digest {
		return fmt.Errorf("%s: digest %s, but its metadata says %s: the layer was changed or damaged", file, got, m.Digest)
	}
	return nil
}

func readMeta(p string) (layers.Meta, error) {
	var m layers.Meta
	data, err := os.ReadFile(p)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("%s: %w", p, err)
	}
	if m.Name == "" || m.File == "" {
		return m, fmt.Errorf("%s: no name or file", p)
	}
	return m, nil
}

// fromMedia looks for the module on the booted mode.from medium, which the
// init left mounted under RunDir/mnt (unless mode.toram let go of it).
func fromMedia(arg string, b *layers.Booted, runDir string) (*source, error) {
	dir := b.Ref
	if strings.HasPrefix(b.Ref, "/dev/") {
		dev, sub, _ := strings.Cut(b.Ref, ":")
		dir = filepath.Join(layers.MountsDir(runDir), filepath.Base(dev), sub)
	}
	jsons, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(jsons) == 0 {
		return nil, fmt.Errorf("module %s: no layers in %s (the mode.from=%s medium; with mode.toram it is let go of: give the layer FILE.sqfs)", arg, dir, b.Ref)
	}
	booted := strings.TrimSuffix(b.Layers[len(b.Layers)-1].File, ".sqfs")
	var cands []string
	for _, j := range jsons {
		m, err := readMeta(j)
		if err != nil || (m.Name != arg && strings.TrimSuffix(m.File, ".sqfs") != arg) {
			continue
		}
		parent := strings.Join(m.Chain[:max(len(m.Chain)-1, 0)], "-")
		if parent != "" && strings.HasPrefix(booted+"-", parent+"-") {
			return fromFile(filepath.Join(dir, m.File))
		}
		cands = append(cands, m.File)
	}
	if len(cands) > 0 {
		return fromFile(filepath.Join(dir, cands[0])) // the parent check says why it does not fit
	}
	return nil, fmt.Errorf("module %s: not found in %s (the mode.from=%s medium)", arg, dir, b.Ref)
}

// fromRegistry fetches the chain tagged arg in the repository the system
// booted from, and pulls its top layer into RunDir/layers (RAM, as the init
// does), verified by digest. On a lazy boot a top layer with verity data is
// not pulled here: Activate reads it lazily (source.fetch), or pulls it.
func fromRegistry(ctx context.Context, arg string, b *layers.Booted, o Options) (*source, error) {
	if b.Ref == "" {
		return nil, fmt.Errorf("module %s: the system did not boot from a registry nor from media: give the layer FILE.sqfs", arg)
	}
	ref := repoOf(b.Ref) + ":" + arg
	opts := []remote.Option{remote.WithInsecure(b.Insecure || o.Insecure), remote.WithRetries(3, 500*time.Millisecond),
		remote.WithMirrors(append(append([]string(nil), o.Mirrors...), b.Mirrors...)...)}
	platform := o.Platform
	if platform == "" {
		platform = bootedArch(b)
	}
	opts = append(opts, remote.WithPlatform(platform))
	c, md, err := remote.Chain(ctx, ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", arg, err)
	}
	if len(c.Layers) == 0 {
		return nil, fmt.Errorf("module %s: %s has no layers", arg, ref)
	}
	top := c.Layers[len(c.Layers)-1]
	s := &source{meta: top, from: ref + "@" + string(md)}
	for _, l := range c.Layers[:len(c.Layers)-1] {
		s.parents = append(s.parents, l.Digest)
	}
	if len(top.ParentDigests) > 0 && !equal(top.ParentDigests, s.parents) {
		return nil, fmt.Errorf("module %s: %s: its layers below are not those it records as its parents", arg, ref)
	}
	// Check the chain before downloading anything.
	if err := checkParents(s, b); err != nil {
		return nil, err
	}
	dir := layers.LayersDir(o.RunDir)
	// By digest: a mirror whose tag moved since remote.Chain changes nothing.
	pinned := repoOf(b.Ref) + "@" + string(md)
	s.file, s.pulled = filepath.Join(dir, top.File), true
	s.pull = func() error {
		pulled, _, err := remote.Pull(ctx, pinned, dir, append(opts, remote.WithFilter(func(m string) bool { return m == top.Name }))...)
		if err != nil {
			return fmt.Errorf("module %s: %w", arg, err)
		}
		if len(pulled.Layers) != 1 || pulled.Layers[0].Digest != top.Digest {
			return fmt.Errorf("module %s: %s changed while it was pulled", arg, ref)
		}
		return nil
	}
	if b.Lazy && top.Verity != nil {
		s.lazy = &lazySource{ref: pinned, insecure: b.Insecure || o.Insecure, mirrors: append(append([]string(nil), o.Mirrors...), b.Mirrors...)}
		return s, nil
	}
	return s, s.pull()
}

// repoOf drops the tag or digest of HOST[:PORT]/REPO:TAG.
func repoOf(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkParents runs the init's check (layers.CheckParents) on the module
// over the booted layers it was built on, and refuses a module that is
// already part of the booted chain or of another architecture than it.
func checkParents(s *source, b *layers.Booted) error {
	for _, l := range b.Layers {
		if l.Digest == s.meta.Digest || l.File == s.meta.File {
			return fmt.Errorf("module %s: %w: %s is part of the booted chain %s", s.meta.Name, ErrActive, l.File, b.ChainName())
		}
	}
	if got, want := s.meta.Arch(), bootedArch(b); got != want {
		return fmt.Errorf("module %s (%s): %w: it is for %s, the booted chain %s is for %s", s.meta.Name, s.from, ErrOtherChain, got, b.ChainName(), want)
	}
	if len(s.parents) == 0 {
		return fmt.Errorf("module %s: %w: it is a base layer (no parent); activate adds modules built on the booted chain", s.meta.Name, ErrOtherChain)
	}
	m := s.meta
	m.ParentDigests = s.parents
	n := min(len(s.parents), len(b.Layers))
	stack := append(append([]layers.Meta(nil), b.Layers[:n]...), m)
	if err := layers.CheckParents(stack); err != nil {
		if len(s.meta.ParentDigests) > 0 { // a saved layer: the init's own words
			return fmt.Errorf("module %s (%s): %w: %w", s.meta.Name, s.from, ErrOtherChain, err)
		}
		return fmt.Errorf("module %s (%s): %w: %s", s.meta.Name, s.from, ErrOtherChain, parentMismatch(s, b))
	}
	return nil
}

// bootedArch is the architecture of the booted chain (its top layer's):
// the entry activate takes from an index tag unless told another.
func bootedArch(b *layers.Booted) string {
	if len(b.Layers) == 0 {
		return runtime.GOARCH
	}
	return b.Layers[len(b.Layers)-1].Arch()
}

// parentMismatch says where a built module's parents and the booted
// chain part ways.
func parentMismatch(s *source, b *layers.Booted) string {
	for i, want := range s.parents {
		if i >= len(b.Layers) {
			return fmt.Sprintf("it was built on %d layers, the booted chain %s has %d", len(s.parents), b.ChainName(), len(b.Layers))
		}
		if got := b.Layers[i]; got.Digest != want {
			name := "?"
			if i < len(s.meta.Chain) {
				name = s.meta.Chain[i]
			}
			return fmt.Sprintf("its parent %d (module %s) has digest %s, the booted chain's layer %s has %s", i+1, name, layers.ShortDigest(want), got.File, layers.ShortDigest(got.Digest))
		}
	}
	return "its parents differ from the booted chain"
}

// Sentinel errors, wrapped with the module and the reason.
var (
	// ErrOtherChain: the module was not built on the booted chain (or a prefix of it).
	ErrOtherChain = errors.New("built on another chain")
	// ErrActive: the module is active already, or part of the booted chain.
	ErrActive = errors.New("already active")
	// ErrNotActive: deactivate was given a module that is not active.
	ErrNotActive = errors.New("not active")
)
