package maker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/modules"
	"github.com/mode-build/mode/modules/chroot"
	"github.com/mode-build/mode/modules/debian"
)

// The Debian half of making a layer: bootstrapping a base, the apt-get steps,
// the shared apt cache and the dpkg diff. The work is in package debian.

// aptCache returns the shared apt cache, made if missing.
func aptCache() (string, error) {
	cache, err := debian.CacheDir()
	if err != nil {
		return "", fmt.Errorf("apt cache: %w", err)
	}
	if err := os.MkdirAll(debian.Archives(cache), 0o755); err != nil {
		return "", fmt.Errorf("apt cache: %w", err)
	}
	return cache, nil
}

// bootstrap fills dir (an empty directory) with m.Bootstrap's root tree. With
// no mirror in the module, the host's apt sources give it. Downloads land in
// the shared cache; on failure dir is left empty.
func (mk *Maker) bootstrap(ctx context.Context, m *modules.Module, dir string) error {
	b := m.Bootstrap
	arch := b.Architecture
	if arch == "" && mk.foreign() {
		arch = mk.Arch
	}
	return mk.debootstrap(ctx, m, debian.Bootstrap{Tool: b.Tool, Suite: b.Suite, Variant: b.Variant, Include: b.Include,
		Components: b.Components, Architecture: arch, Mirror: b.Mirror}, dir)
}

// debootstrap runs the bootstrapper b into dir for m.
func (mk *Maker) debootstrap(ctx context.Context, m *modules.Module, b debian.Bootstrap, dir string) error {
	cache, err := aptCache()
	if err != nil {
		return err
	}
	var host []debian.Source
	if b.Mirror == "" {
		if host, err = debian.ReadSources(debian.HostApt); err != nil {
			return fmt.Errorf("bootstrap: host apt sources: %w", err)
		}
	}
	scratch, err := os.MkdirTemp(mk.scratch(), scratchPrefix("bootstrap")) // swept when a killed build left it
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	unlock, err := debian.LockCache(ctx, cache)
	if err != nil {
		return err
	}
	defer unlock()
	r := &debian.Runner{Log: mk.Stderr, Retry: debian.DefaultRetry, NoSync: !mk.keepFsync}
	if mk.Fraction != nil {
		// mmdebstrap's own bars: each stage a phase ("bootstrap
		// downloading", "bootstrap extracting"…) with its percent.
		phase := "bootstrap"
		r.Progress = func(stage string, pct float64) {
			if p := strings.TrimSpace("bootstrap " + stage); p != phase {
				phase = p
				mk.phase(m, p)
			}
			mk.Fraction(m.Name, phase, int(pct), 100)
		}
	}
	for keep := true; ; keep = false {
		c, err := debian.Plan(b, dir, debian.Archives(cache), scratch, host, debian.HostCodename())
		if err != nil {
			return err
		}
		// The bootstrap's lists live in the shared cache (bootlists.go).
		kept, note, done, err := debian.ShareBootLists(cache, c, mk.listsMaxAge(), keep)
		if err != nil {
			return err
		}
		if note != "" {
			mk.aptNote(note)
		}
		mk.log().Info("bootstrap", "module", m.Name, "tool", c.Tool, "args", c.Args)
		err = r.Run(ctx, c, dir)
		if derr := done(err); derr != nil {
			return derr
		}
		if err == nil || !kept || ctx.Err() != nil {
			return err
		}
		// Kept lists may name what the archive has dropped since.
		mk.aptNote(fmt.Sprintf("bootstrap: failed over kept lists (%v): again with an update", err))
	}
}

// aptState returns the Maker's apt state, made on first use: one Maker (one
// build run) updates each set of apt sources once.
func (mk *Maker) aptState() (*debian.Apt, error) {
	mk.mu.Lock()
	defer mk.mu.Unlock()
	if mk.apt == nil {
		cache, err := aptCache()
		if err != nil {
			return nil, err
		}
		mk.apt = &debian.Apt{Cache: cache, Retry: debian.DefaultRetry, UnsafeIO: !mk.keepDpkgSync, Serial: mk.serialApt,
			ListsMaxAge: mk.listsMaxAge(), Note: mk.aptNote}
	}
	return mk.apt, nil
}

// aptSteps runs m's remove and packages steps in the mounted root: apt-get in
// a chroot of root with mk's binds and debian.StepEnv(), its stderr kept so that
// errors carry apt's cause.
func (mk *Maker) aptSteps(ctx context.Context, m *modules.Module, root string) error {
	apt, err := mk.aptState()
	if err != nil {
		return err
	}
	// apt-get runs as run would run it, with apt's environment, and with its
	// stderr kept too, so that a failure says why (apt's "E:" lines) and a
	// transient fetch failure can be told from a permanent one. Its status
	// lines come on a descriptor of their own, on a terminal and off it:
	// they tell the apt bar its percent and a failure its package and
	// dpkg's message.
	aptRun := func(ctx context.Context, argv ...string) error {
		var errs bytes.Buffer
		stderr := io.Writer(&errs)
		if mk.Stderr != nil {
			stderr = io.MultiWriter(mk.Stderr, &errs)
		}
		var percent func(float64)
		if frac := mk.fraction(m, "apt"); frac != nil {
			percent = func(p float64) { frac(int(p), 100) }
		}
		status, err := debian.OpenAptStatus(percent)
		if err != nil {
			return err
		}
		argv = debian.WithStatusFd(argv)
		mk.log().Debug("chroot", "module", m.Name, "argv", argv)
		err = chroot.Run(ctx, root, chroot.Options{Binds: mk.aptBinds(), Env: debian.StepEnv(), NoSync: !mk.keepFsync,
			Stdout: mk.Stdout, Stderr: stderr, ExtraFiles: []*os.File{status.W}}, argv...)
		failures := status.Close()
		var exit *chroot.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("%s exited with %d: %s", argv[0], exit.Code, debian.AptCause(failures, errs.String()))
		}
		return err
	}
	return apt.RunAhead(ctx, root, m.Remove, m.Packages, mk.next(m), aptRun, mk.aheadRun(m, root))
}

// aptBinds lists the extra bind mounts of a build chroot: the shared apt
// cache, at a path under the chroot's own /run, never in a layer.
func (mk *Maker) aptBinds() []chroot.Bind {
	cache, err := aptCache()
	if err != nil {
		return nil // apt steps fail on the same error, with its cause
	}
	return []chroot.Bind{{Source: cache, Target: debian.ChrootCache}}
}

// packages returns the dpkg diff between the lower root (the parent chain, ""
// for a base) and the merged root after the steps; nil when there is no dpkg
// database or nothing changed.
func (mk *Maker) packages(lowerRoot, root string) (*layers.Packages, error) {
	before, err := debian.ReadStatus(lowerRoot)
	if err != nil {
		return nil, err
	}
	after, err := debian.ReadStatus(root)
	if err != nil {
		return nil, err
	}
	p := debian.Diff(before, after)
	if len(p.Added) == 0 && len(p.Removed) == 0 && len(p.Upgraded) == 0 {
		return nil, nil
	}
	return p, nil
}
