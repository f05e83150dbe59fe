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

	"github.com/mode-build/mode/chroot"
	"github.com/mode-build/mode/clean"
	"github.com/mode-build/mode/debian"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/modules"
	"github.com/mode-build/mode/mount"
	"github.com/mode-build/mode/squashfs"
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

	mu    sync.Mutex
	apt   *debian.Apt // apt state of this build run, made on first use
	sweep sync.Once   // the scratch directory swept of what killed builds left, once
}

var _ modules.Maker = (*Maker)(nil)

// hostFiles are build-host files that must not leak into a layer.
var hostFiles = []string{"/etc/resolv.conf", "/etc/hostname"}

// Make builds m's layer into dst: a base from its bootstrap or from source,
// any other module by running its steps over its mounted parent chain and
// squashing only the upper diff.
func (mk *Maker) Make(ctx context.Context, m *modules.Module, parents []string, dst string) (layers.Meta, error) {
	meta, err := mk.make(ctx, m, parents, dst)
	return meta, explainNoSpace(err, mk.scratch(), filepath.Dir(dst))
}

func (mk *Maker) make(ctx context.Context, m *modules.Module, parents []string, dst string) (layers.Meta, error) {
	mk.sweep.Do(mk.sweepScratch) // when Lock did not: a Maker used as a library
	if m.Parent == "" {
		return mk.base(ctx, m, dst)
	}
	ws, err := mount.OpenWorkspace(parents, mk.scratch(), scratchPrefix("ws"))
	if err != nil {
		return layers.Meta{}, err
	}
	defer ws.Close()
	meta, err := mk.layer(ctx, m, ws, dst)
	if cerr := ws.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return meta, err
}

func (mk *Maker) layer(ctx context.Context, m *modules.Module, ws *mount.Stack, dst string) (layers.Meta, error) {
	var meta layers.Meta
	if err := mk.steps(ctx, m, ws.Root); err != nil {
		return meta, err
	}
	pkgs, err := mk.packages(ws.Lower, ws.Root)
	if err != nil {
		return meta, err
	}
	meta.Packages = pkgs
	if err := ws.Seal(); err != nil {
		return meta, err
	}
	meta.Pruned, meta.Excluded, err = clean.Clean(ws.Upper, mk.cleaning(m, ws.Lower))
	if err != nil {
		return meta, err
	}
	mk.phase(m, "squash")
	return meta, squashfs.SquashProgress(ctx, ws.Upper, dst, mk.Compression, mk.fraction(m, "squash"))
}

// base makes a base module's tree in a scratch directory and squashes it.
func (mk *Maker) base(ctx context.Context, m *modules.Module, dst string) (meta layers.Meta, err error) {
	dir, err := os.MkdirTemp(mk.scratch(), scratchPrefix("base"))
	if err != nil {
		return meta, err
	}
	defer os.RemoveAll(dir)
	// The bootstrap's apt downloads as _apt into root/var/lib/apt/lists:
	// _apt must reach it (MkdirTemp makes 0700), else apt warns "Download is
	// performed unsandboxed as root".
	if err := os.Chmod(dir, 0o755); err != nil {
		return meta, err
	}
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		return meta, err
	}
	switch {
	case m.Bootstrap != nil:
		mk.phase(m, "bootstrap")
		err = mk.bootstrap(ctx, m, root)
	case m.From != nil:
		mk.phase(m, "from")
		err = fromSource(ctx, m, root)
	default:
		err = errors.New("a base module needs bootstrap or from")
	}
	if err != nil {
		return meta, err
	}
	if err := mk.steps(ctx, m, root); err != nil {
		return meta, err
	}
	if meta.Packages, err = mk.packages("", root); err != nil {
		return meta, err
	}
	if meta.Pruned, meta.Excluded, err = clean.Clean(root, mk.cleaning(m, "")); err != nil {
		return meta, err
	}
	mk.phase(m, "squash")
	return meta, squashfs.SquashProgress(ctx, root, dst, mk.Compression, mk.fraction(m, "squash"))
}

// steps runs m's steps in root, in their fixed order: files, remove,
// packages, run.
func (mk *Maker) steps(ctx context.Context, m *modules.Module, root string) error {
	if err := copyFiles(m, root); err != nil {
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
	opts := chroot.Options{Binds: mk.aptBinds(), Env: debian.Env, Stdout: mk.Stdout, Stderr: mk.Stderr}
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
