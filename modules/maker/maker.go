package maker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/modules"
	"github.com/mode-build/mode/modules/chroot"
	"github.com/mode-build/mode/modules/clean"
	"github.com/mode-build/mode/modules/debian"
	"github.com/mode-build/mode/mount"
)

// Maker makes layers for real. It implements modules.Maker.
type Maker struct {
	// Scratch holds workspaces while a layer is made; os.TempDir() when empty.
	Scratch string
	// Compression is the squashfs compression, NAME[:LEVEL]; layers.DefaultCompression when empty.
	Compression string
	// Stdout and Stderr receive the steps' output; discarded when nil.
	Stdout, Stderr io.Writer
	// Log, when set, tells what happens.
	Log *slog.Logger
	// Progress, when set, is told each phase of a layer as it starts:
	// "bootstrap", "from", "apt", "run 1/3", "squash".
	Progress func(module, phase string)
	// Fraction, when set, is told how far the current phase is, done of
	// total, where that is known: "squash" (mksquashfs's blocks, done ==
	// total last) and "apt" (apt's status percent, of 100, for each
	// apt-get run in turn: update, download, install). With it, apt-get
	// runs with APT::Status-Fd on its stderr, status lines taken out again.
	Fraction func(module, phase string, done, total int)
	// Arch is the architecture built for (modules.Arches); "" is the host's.
	// For another, a bootstrap gets it (mmdebstrap --architectures), a from
	// takes from.foreign's packages instead of from.host's files, and steps
	// run under QEMU user emulation (chroot.Emulate).
	Arch string
	// AptListsMaxAge keeps the shared apt lists of a set of sources that a
	// build updated less than this long ago: no apt-get update (the build
	// output says which lists and how old). 0 is debian.DefaultListsMaxAge;
	// negative updates them in every build run.
	AptListsMaxAge time.Duration

	mu    sync.Mutex
	apt   *debian.Apt // apt state of this build run, made on first use
	sweep sync.Once   // the scratch directory swept of what killed builds left, once

	// Benchmarks turn the no-flush levers off one at a time (bench.md):
	// keepFsync runs the bootstrap and the steps without internal/nosync's
	// filter, keepDpkgSync runs apt's dpkg without --force-unsafe-io.
	keepFsync, keepDpkgSync bool
	// loudSquash runs mksquashfs at the build's own priority.
	loudSquash bool
	// serialApt runs the apt steps of siblings one at a time, dpkg included.
	serialApt bool
	// noAhead downloads no child's packages during a module's dpkg (ahead.go).
	noAhead bool

	plan []*modules.Module // the build's (TakePlan), under mu
}

var _ modules.Maker = (*Maker)(nil)

// hostFiles are build-host files that must not leak into a layer.
var hostFiles = []string{"/etc/resolv.conf", "/etc/hostname"}

// Make builds m's layer into dst: a base from its bootstrap or from source,
// any other module by running its steps over its mounted parent chain and
// squashing only the upper diff. It is Tree, Squash and Close in one.
func (mk *Maker) Make(ctx context.Context, m *modules.Module, parents []string, dst string) (layers.Meta, error) {
	lowers := make([]modules.Lower, len(parents))
	for i, p := range parents {
		lowers[i] = modules.Lower{File: p}
	}
	t, err := mk.Tree(ctx, m, lowers)
	if err != nil {
		return layers.Meta{}, err
	}
	err = t.Squash(ctx, dst)
	if cerr := t.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return t.Meta(), err
}

// Tree makes m's finished, cleaned tree (modules.TreeMaker): a base's in a
// scratch directory, any other module's as the upper of a workspace over
// parents, moved out of the workspace once cleaned and unmounted.
func (mk *Maker) Tree(ctx context.Context, m *modules.Module, parents []modules.Lower) (modules.Tree, error) {
	mk.sweep.Do(mk.sweepScratch) // when Lock did not: a Maker used as a library
	var t *tree
	var err error
	if m.Parent == "" {
		t, err = mk.base(ctx, m)
	} else {
		t, err = mk.layer(ctx, m, parents)
	}
	if err != nil {
		return nil, explainNoSpace(err, mk.scratch())
	}
	return t, nil
}

// layer runs m's steps over a workspace of parents and keeps its cleaned upper.
func (mk *Maker) layer(ctx context.Context, m *modules.Module, parents []modules.Lower) (*tree, error) {
	var ls []mount.Layer
	for _, p := range parents {
		if p.Dir != "" {
			ls = append(ls, mount.Layer{Target: p.Dir, Mounted: true})
		} else {
			ls = append(ls, mount.Layer{File: p.File})
		}
	}
	ws, err := mount.OpenWorkspaceOf(ls, mk.scratch(), scratchPrefix("ws"))
	if err != nil {
		return nil, err
	}
	defer ws.Close()
	t := &tree{mk: mk, m: m}
	if err := mk.steps(ctx, m, ws.Root); err != nil {
		return nil, err
	}
	if t.meta.Packages, err = mk.packages(ws.Lower, ws.Root); err != nil {
		return nil, err
	}
	if err := ws.Seal(); err != nil {
		return nil, err
	}
	if t.meta.Pruned, t.meta.Excluded, err = clean.Clean(ws.Upper, mk.cleaning(m, ws.Lower)); err != nil {
		return nil, err
	}
	// The upper moves to a scratch directory of its own, the workspace
	// goes: the tree outlives every mount of its making.
	if err := t.adopt(ws.Upper); err != nil {
		return nil, err
	}
	if err := ws.Close(); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// base makes a base module's tree in a scratch directory.
func (mk *Maker) base(ctx context.Context, m *modules.Module) (t *tree, err error) {
	dir, err := os.MkdirTemp(mk.scratch(), scratchPrefix("base"))
	if err != nil {
		return nil, err
	}
	t = &tree{mk: mk, m: m, dir: dir, root: filepath.Join(dir, "root")}
	defer func() {
		if err != nil {
			t.Close()
			t = nil
		}
	}()
	// The bootstrap's apt downloads as _apt into root/var/lib/apt/lists:
	// _apt must reach it (MkdirTemp makes 0700), else apt warns "Download is
	// performed unsandboxed as root".
	if err := os.Chmod(dir, 0o755); err != nil {
		return t, err
	}
	root := t.root
	if err := os.Mkdir(root, 0o755); err != nil {
		return t, err
	}
	switch {
	case m.Bootstrap != nil:
		mk.phase(m, "bootstrap")
		if err = mk.emulate(m); err == nil {
			err = mk.bootstrap(ctx, m, root)
		}
	case m.From != nil:
		mk.phase(m, "from")
		err = fromSource(ctx, m, root, !mk.foreign())
		if err == nil && mk.foreign() && m.From.Foreign != nil {
			err = mk.fromForeign(ctx, m, root)
		}
	default:
		err = errors.New("a base module needs bootstrap or from")
	}
	if err != nil {
		return t, err
	}
	if err := mk.steps(ctx, m, root); err != nil {
		return t, err
	}
	if t.meta.Packages, err = mk.packages("", root); err != nil {
		return t, err
	}
	t.meta.Pruned, t.meta.Excluded, err = clean.Clean(root, mk.cleaning(m, ""))
	return t, err
}

// steps runs m's steps in root, in their fixed order: files, remove,
// packages, run.
func (mk *Maker) steps(ctx context.Context, m *modules.Module, root string) error {
	if err := copyFiles(m, root); err != nil {
		return err
	}
	if err := mk.emulate(m); err != nil {
		return err
	}
	if len(m.Remove) > 0 || len(m.Packages) > 0 {
		mk.phase(m, "apt")
		if err := mk.aptSteps(ctx, m, root); err != nil {
			key := "packages"
			if len(m.Packages) == 0 {
				key = "remove"
			}
			return fmt.Errorf("%s: %s: %w", m.At(key), key, err)
		}
	}
	opts := chroot.Options{Binds: mk.aptBinds(), Env: debian.StepEnv(), NoSync: !mk.keepFsync, Stdout: mk.Stdout, Stderr: mk.Stderr}
	for i, step := range m.Run {
		mk.log().Debug("run", "module", m.Name, "step", step)
		mk.phase(m, fmt.Sprintf("run %d/%d", i+1, len(m.Run)))
		if err := chroot.Run(ctx, root, opts, "/bin/sh", "-ec", step); err != nil {
			return fmt.Errorf("%s: run step %d (%q): %w", m.At(fmt.Sprintf("run[%d]", i)), i+1, step, err)
		}
	}
	return nil
}

func (mk *Maker) cleaning(m *modules.Module, lower string) clean.Options {
	c := clean.Options{Lower: lower, Exclude: m.Exclude, HostFiles: hostFiles}
	for _, f := range m.Files {
		c.Keep = append(c.Keep, f.Dst)
	}
	return c
}

func (mk *Maker) scratch() string {
	if mk.Scratch != "" {
		return mk.Scratch
	}
	return os.TempDir()
}

// phase tells Progress that m's layer entered phase p.
func (mk *Maker) phase(m *modules.Module, p string) {
	if mk.Progress != nil {
		mk.Progress(m.Name, p)
	}
}

// fraction returns the function that tells Fraction how far m's layer is in
// phase p; nil without Fraction.
func (mk *Maker) fraction(m *modules.Module, p string) func(done, total int) {
	if mk.Fraction == nil {
		return nil
	}
	return func(done, total int) { mk.Fraction(m.Name, p, done, total) }
}

func (mk *Maker) log() *slog.Logger {
	if mk.Log != nil {
		return mk.Log
	}
	return slog.New(slog.DiscardHandler)
}
