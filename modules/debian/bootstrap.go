package debian

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/mode-build/mode/internal/nosync"
	"github.com/mode-build/mode/internal/proc"
	"github.com/mode-build/mode/mount"
)

// Tools are the bootstrappers mode knows; the first is the default.
var Tools = []string{"mmdebstrap", "debootstrap"}

// DefaultVariant is the variant used when a module names none.
const DefaultVariant = "minbase"

// Bootstrap says how to make a base root tree: the bootstrap section of a
// module file.
type Bootstrap struct {
	Tool         string   // mmdebstrap (default) or debootstrap
	Suite        string   // bookworm, trixie, stable…
	Variant      string   // minbase by default
	Include      []string // extra packages
	Components   []string // main by default, or the host's components
	Architecture string   // the host's by default
	Mirror       string   // a mirror URI; the host's apt sources by default
}

// Command is a bootstrapper run: the tool, its arguments, and the deb822
// sources file to write at SourcesFile first (when Sources is not empty).
type Command struct {
	Tool        string
	Suite       string
	Args        []string
	SourcesFile string
	Sources     []byte

	opts   int // mmdebstrap: Args[:opts] are its options (ShareLists adds to them)
	shared int // the last of them that ShareLists added
}

// Plan turns b into the command that bootstraps target. host are the host's
// apt sources and codename its release (see ReadSources, HostCodename): with
// no Mirror, the root gets the host's Debian mirrors for b.Suite, so no mirror
// name is ever written in a module. cache is the shared directory of
// downloaded packages; scratch a directory for the sources file.
func Plan(b Bootstrap, target, cache, scratch string, host []Source, codename string) (*Command, error) {
	if b.Suite == "" {
		return nil, errors.New("bootstrap: no suite")
	}
	tool := b.Tool
	if tool == "" {
		tool = Tools[0]
	}
	variant := b.Variant
	if variant == "" {
		variant = DefaultVariant
	}
	var sources []Source
	if b.Mirror == "" {
		var err error
		if sources, err = ForSuite(host, codename, b.Suite, b.Components); err != nil {
			return nil, fmt.Errorf("bootstrap: %w", err)
		}
	}
	c := &Command{Tool: tool, Suite: b.Suite}
	switch tool {
	case "mmdebstrap":
		c.Args = []string{"--mode=root", "--format=directory", "--variant=" + variant}
		if len(b.Include) > 0 {
			c.Args = append(c.Args, "--include="+strings.Join(b.Include, ","))
		}
		if len(b.Components) > 0 && b.Mirror != "" {
			c.Args = append(c.Args, "--components="+strings.Join(b.Components, ","))
		}
		if b.Architecture != "" {
			c.Args = append(c.Args, "--architectures="+b.Architecture)
		}
		// Downloads go to the shared cache, bind-mounted for the run (in a
		// private mount namespace) and unmounted by the customize hook,
		// before mmdebstrap's cleanup, whose apt-get clean then runs on the
		// root's own cache (and makes its archives/partial, part of the
		// layer). The extract variant runs no customize hook: its cleanup
		// would empty the shared cache through the bind (it did, in make
		// test: every arm64 build of tiny emptied it), so it skips that
		// cleanup, and Runner.Run takes the bind down.
		c.Args = append(c.Args, "--skip=essential/unlink")
		if variant == "extract" {
			c.Args = append(c.Args, "--skip=cleanup/apt/cache")
		}
		c.Args = append(c.Args,
			"--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives && mount --bind "+shellQuote(cache)+" \"$1\"/var/cache/apt/archives",
			"--customize-hook=umount \"$1\"/var/cache/apt/archives",
			"--customize-hook=rm -f \"$1\"/etc/resolv.conf \"$1\"/etc/hostname")
		c.opts = len(c.Args)
		c.Args = append(c.Args, b.Suite, target)
		if b.Mirror != "" {
			c.Args = append(c.Args, b.Mirror)
		} else {
			c.SourcesFile = filepath.Join(scratch, "sources.sources")
			c.Sources = Deb822(sources)
			c.Args = append(c.Args, c.SourcesFile)
		}
	case "debootstrap":
		if variant == "apt" || variant == "essential" || variant == "required" || variant == "important" || variant == "standard" {
			return nil, fmt.Errorf("bootstrap: debootstrap has no variant %q (minbase, buildd or fakechroot)", variant)
		}
		c.Args = []string{"--variant=" + variant, "--cache-dir=" + cache}
		if len(b.Include) > 0 {
			c.Args = append(c.Args, "--include="+strings.Join(b.Include, ","))
		}
		components := b.Components
		mirror := b.Mirror
		if mirror == "" {
			// debootstrap takes one mirror: the host's for the suite itself.
			mirror = sources[0].URIs[0]
			if len(components) == 0 {
				components = sources[0].Components
			}
		}
		if len(components) > 0 {
			c.Args = append(c.Args, "--components="+strings.Join(components, ","))
		}
		if b.Architecture != "" {
			c.Args = append(c.Args, "--arch="+b.Architecture)
		}
		c.Args = append(c.Args, b.Suite, target, mirror)
	default:
		return nil, fmt.Errorf("bootstrap: unknown tool %q (want %s)", tool, strings.Join(Tools, " or "))
	}
	return c, nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Runner runs bootstrap commands with retries.
type Runner struct {
	// Log receives the tool's output as it runs (nil: discarded). The last
	// lines of it are in the error anyway.
	Log io.Writer
	// Retry bounds the retries of transient fetch failures.
	Retry Retry
	// NoSync runs the tool under internal/nosync's filter: its flushes, and
	// those of dpkg and the maintainer scripts it runs, are no-ops.
	NoSync bool
	// Progress, when set, is told mmdebstrap's progress bars: its stage
	// ("downloading", "extracting", "installing", "configuring"; "" when
	// it names none) and percent, restarting at 0 for each stage. For them
	// mmdebstrap's stderr is a pseudo-terminal (it draws bars only there);
	// its text reaches Log as on a pipe. debootstrap draws none.
	Progress func(stage string, percent float64)
}

// Run runs c into target (an empty directory), retrying transient fetch
// failures with backoff. On failure target is emptied again and the error
// names the tool, the suite and the cause (the tool's error lines).
func (r *Runner) Run(ctx context.Context, c *Command, target string) error {
	bin, err := exec.LookPath(c.Tool)
	if err != nil {
		return fmt.Errorf("bootstrap: %s not found (install it: apt-get install %s)", c.Tool, c.Tool)
	}
	if c.SourcesFile != "" {
		if err := os.WriteFile(c.SourcesFile, c.Sources, 0o644); err != nil {
			return fmt.Errorf("bootstrap: %w", err)
		}
		defer os.Remove(c.SourcesFile)
	}
	err = r.Retry.Do(ctx, func() (bool, error) {
		out, err := r.run(ctx, bin, c.Args)
		// The setup hook's bind mount of the shared package cache is taken
		// down by the customize hook, which neither a failed run nor the
		// extract variant reaches: left mounted, emptying or removing the
		// root would empty the shared cache through it.
		if uerr := mount.UnmountBelow(target); uerr != nil {
			return false, errors.Join(err, uerr)
		}
		if err == nil {
			return false, nil
		}
		if cerr := emptyDir(target); cerr != nil {
			return false, errors.Join(err, cerr)
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return Transient(out), fmt.Errorf("%w: %s", err, Cause(out))
	})
	if err != nil {
		return fmt.Errorf("bootstrap %s with %s: %w", c.Suite, c.Tool, err)
	}
	// Both tools copy the host's resolv.conf and hostname into the root (for
	// their own use): a root mode makes has neither.
	for _, p := range []string{"etc/resolv.conf", "etc/hostname"} {
		if err := os.Remove(filepath.Join(target, p)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("bootstrap %s with %s: %w", c.Suite, c.Tool, err)
		}
	}
	return nil
}

func (r *Runner) run(ctx context.Context, bin string, args []string) (string, error) {
	var out bytes.Buffer
	w := io.Writer(&out)
	if r.Log != nil {
		w = io.MultiWriter(&out, r.Log)
	}
	cmd := proc.Command(ctx, bin, args...)
	var nosyncEnv string
	if r.NoSync {
		path, argv, env, err := nosync.Wrap(bin, args)
		if err != nil {
			return "", err
		}
		cmd.Path, cmd.Args, nosyncEnv = path, argv, env
	}
	cmd.Stdout, cmd.Stderr = w, w
	var bars *barReader
	if r.Progress != nil && filepath.Base(bin) == "mmdebstrap" {
		w = &lockedWriter{w: w}
		cmd.Stdout = w
		var err error
		if bars, err = startBars(w, r.Progress); err == nil {
			cmd.Stderr = bars.tty
			cmd.Env = append(os.Environ(), "NO_COLOR=1") // plain "E:" lines for Cause
		} // else: no pseudo-terminal here, no bars
	}
	// A private mount namespace: whatever the tool mounts (the cache, /proc,
	// /dev) dies with it, even when it is killed.
	cmd.SysProcAttr.Unshareflags = syscall.CLONE_NEWNS // proc.Command made SysProcAttr (a parent-death signal)
	cmd.SysProcAttr.Setpgid = true
	if bars != nil {
		// mmdebstrap measures the bars' width on /dev/tty: the terminal
		// must be its controlling one, in a session of its own (which is
		// also a process group of its own, as Setpgid would make).
		cmd.SysProcAttr.Setpgid = false
		cmd.SysProcAttr.Setsid, cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, true, 2
	}
	if nosyncEnv != "" {
		cmd.Env = append(cmd.Environ(), nosyncEnv)
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err := cmd.Start()
	if bars != nil {
		bars.started()
	}
	if err == nil {
		err = cmd.Wait()
	}
	if bars != nil {
		bars.finish()
	}
	return out.String(), err
}

// emptyDir removes everything inside dir, leaving dir.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
