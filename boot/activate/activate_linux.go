package activate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/mount"
	"golang.org/x/sys/unix"
)

// Options say where the running system is.
type Options struct {
	RunDir   string // the run directory the init wrote: layers.RunDir
	Root     string // the root overlay: "/"
	Insecure bool   // plain HTTP to the registry, besides what chain.json says
	// Mirrors are registries (HOST[:PORT]) tried before the booted one's,
	// besides those of chain.json (mode.mirrors).
	Mirrors []string
	// Platform is the architecture whose chain to take from an image index
	// tag (remote.WithPlatform); "" is the booted chain's. A module of
	// another architecture than the booted chain's is refused.
	Platform string
}

func (o *Options) defaults() {
	if o.RunDir == "" {
		o.RunDir = layers.RunDir
	}
	if o.Root == "" {
		o.Root = "/"
	}
}

// Activated is what Activate did.
type Activated struct {
	Module Module
	Status string // what happened to dpkg's status: "" (untouched), "merged", "module's"
	// How says how a registry module of a lazy boot was fetched when it
	// could not be read lazily ("" otherwise: Module.Lazy says whether it is).
	How     string
	Elapsed time.Duration
}

// Activate adds the module arg names (a layer file, a tag of the booted
// registry, a module of the booted media) to the running system. It refuses,
// changing nothing, a module built on another chain, a layer whose digest
// differs from its metadata, and a module already active.
func Activate(ctx context.Context, arg string, o Options) (*Activated, error) {
	o.defaults()
	start := time.Now()
	unlock, err := lock(o.RunDir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	b, err := layers.ReadBooted(o.RunDir)
	if err != nil {
		return nil, err
	}
	st, err := ReadState(o.RunDir)
	if err != nil {
		return nil, err
	}
	if i := st.Find(arg); i >= 0 {
		return nil, fmt.Errorf("module %s: %w (since %s, from %s)", arg, ErrActive, st.Modules[i].Activated.Format(time.RFC3339), st.Modules[i].From)
	}
	src, err := resolve(ctx, arg, b, o)
	if err != nil {
		return nil, err
	}
	if err := plainName(src.meta); err != nil {
		return nil, err
	}
	if i := st.Find(src.meta.Name); i >= 0 {
		return nil, fmt.Errorf("module %s: %w (since %s, from %s)", src.meta.Name, ErrActive, st.Modules[i].Activated.Format(time.RFC3339), st.Modules[i].From)
	}
	ok := false
	defer func() {
		if !ok && src.pulled {
			os.Remove(src.file) // a refused module does not stay in RAM
		}
	}()
	if err := checkParents(src, b); err != nil {
		return nil, err
	}
	table, err := mount.Table()
	if err != nil {
		return nil, err
	}
	root, err := findRoot(table, o.Root)
	if err != nil {
		return nil, err
	}
	// A lazy boot's layers go through dm-verity for want of a digest to
	// check the blocks by as they arrive, not for a signature: a module
	// downloaded whole and digest-checked weakens nothing there.
	if dev := verityMounted(table, o.RunDir); dev != "" && (b.Verified || !b.Lazy) {
		return nil, fmt.Errorf("module %s: the booted layers are checked by dm-verity (%s): activate checks digests but not signatures nor verity yet, so it refuses rather than weaken the boot's checks; boot the module with mode.load", src.meta.Name, dev)
	}
	m := Module{Meta: src.meta, File: src.file, From: src.from, Pulled: src.pulled, Mount: filepath.Join(layers.ActiveDir(o.RunDir), src.meta.Name), Activated: time.Now().UTC()}
	m.Parents = len(src.parents)
	var how string
	if m.Lazy, how, err = src.fetch(o.RunDir); err != nil {
		return nil, err
	}
	if err := mountLayer(m); err != nil {
		if m.Lazy != nil {
			m.Lazy.close()
		}
		return nil, err
	}
	defer func() {
		if !ok {
			mount.Unmount(m.Mount)
			os.Remove(m.Mount)
			if m.Lazy != nil {
				m.Lazy.close()
			}
		}
	}()
	if m.Dirs, err = topDirs(m.Mount, root, table); err != nil {
		return nil, fmt.Errorf("module %s: %w", m.Meta.Name, err)
	}
	diff, err := statusDiff(m, b, o.RunDir, len(src.parents))
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", m.Meta.Name, err)
	}
	var want []byte
	if diff != nil {
		cur, err := readStatus(filepath.Join(root.Dir, StatusFile))
		if err != nil {
			return nil, err
		}
		cur.Apply(*diff)
		want = cur.Bytes()
	}
	if m.Made, err = prepareUppers(root, m); err != nil {
		return nil, fmt.Errorf("module %s: %w", m.Meta.Name, err)
	}
	m.Upper = upperEntries(m, root)
	next := &State{Modules: append(append([]Module(nil), st.Modules...), m), Gen: st.Gen + 1, Status: st.Status}
	if err := remerge(root, st, next, m.Dirs); err != nil {
		removeMade(root, m.Made)
		return nil, fmt.Errorf("module %s: %w", m.Meta.Name, err)
	}
	ok = true
	if want != nil {
		next.Status = sum(want)
	}
	a := &Activated{Module: m, How: how}
	if err := next.write(o.RunDir); err != nil {
		return nil, fmt.Errorf("module %s: activated, but %w", m.Meta.Name, err)
	}
	if want != nil {
		if a.Status, err = settle(root, want); err != nil {
			return nil, fmt.Errorf("module %s: activated, but dpkg's status: %w", m.Meta.Name, err)
		}
	}
	dropCaches()
	a.Elapsed = time.Since(start)
	return a, nil
}

// Deactivated is what Deactivate did, and what it left alone.
type Deactivated struct {
	Module Module
	// Kept are the paths under the module's directories that changed after
	// activation (edited, created or deleted): they stay as the user made them.
	Kept []string
	// Status: what happened to dpkg's status; StatusKept the packages whose
	// status changed after activation, left as they are.
	Status     string
	StatusKept []string
	// Lazy: what is left to happen to a lazily read module's devices (its
	// dm-verity device still in use: removed when its last user goes).
	Lazy    string
	Elapsed time.Duration
}

// Deactivate takes the active module name away from the running system:
// what it added disappears, what it replaced or deleted comes back; the
// user's changes since activation are kept and listed.
func Deactivate(ctx context.Context, name string, o Options) (*Deactivated, error) {
	o.defaults()
	start := time.Now()
	unlock, err := lock(o.RunDir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := ReadState(o.RunDir)
	if err != nil {
		return nil, err
	}
	i := st.Find(name)
	if i < 0 {
		var names []string
		for _, m := range st.Modules {
			names = append(names, m.Meta.Name)
		}
		active := "none"
		if len(names) > 0 {
			active = strings.Join(names, ", ")
		}
		return nil, fmt.Errorf("module %s: %w (active: %s)", name, ErrNotActive, active)
	}
	b, err := layers.ReadBooted(o.RunDir)
	if err != nil {
		return nil, err
	}
	table, err := mount.Table()
	if err != nil {
		return nil, err
	}
	root, err := findRoot(table, o.Root)
	if err != nil {
		return nil, err
	}
	m := st.Modules[i]
	d := &Deactivated{Module: m, Kept: kept(m, root)}
	diff, err := statusDiff(m, b, o.RunDir, m.Parents)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", m.Meta.Name, err)
	}
	var want []byte
	if diff != nil {
		cur, err := readStatus(filepath.Join(root.Dir, StatusFile))
		if err != nil {
			return nil, err
		}
		if st.Status != "" && sum(cur.Bytes()) != st.Status {
			d.Status = "changed since the last activate or deactivate (dpkg was used)"
		}
		changed := cur.Revert(*diff)
		// What the other active modules did to the same packages stays.
		touched, others := diff.Keys(), map[string]bool{}
		for j, om := range st.Modules {
			if j == i {
				continue
			}
			od, err := statusDiff(om, b, o.RunDir, om.Parents)
			if err != nil {
				return nil, fmt.Errorf("module %s: %w", om.Meta.Name, err)
			}
			if od != nil {
				cur.Reapply(*od, touched)
				for k := range od.Keys() {
					others[k] = true
				}
			}
		}
		for _, k := range changed {
			if !others[k] {
				d.StatusKept = append(d.StatusKept, k)
			}
		}
		want = cur.Bytes()
	}
	next := &State{Modules: append(append([]Module(nil), st.Modules[:i]...), st.Modules[i+1:]...), Gen: st.Gen + 1, Status: st.Status}
	if want != nil {
		next.Status = sum(want)
	}
	if err := remerge(root, st, next, m.Dirs); err != nil {
		return nil, fmt.Errorf("module %s: %w", m.Meta.Name, err)
	}
	if err := mount.Unmount(m.Mount); err != nil {
		return nil, fmt.Errorf("module %s: %w", m.Meta.Name, err)
	}
	os.Remove(m.Mount)
	var lazyErr error
	if m.Lazy != nil {
		d.Lazy, lazyErr = m.Lazy.close()
	}
	if m.Pulled {
		os.Remove(m.File) // RAM back; a lazily detached mount keeps its loop device
	}
	removeMade(root, m.Made)
	if err := next.write(o.RunDir); err != nil {
		return nil, fmt.Errorf("module %s: deactivated, but %w", m.Meta.Name, err)
	}
	if lazyErr != nil {
		return nil, fmt.Errorf("module %s: deactivated, but its lazy devices: %w", m.Meta.Name, lazyErr)
	}
	if want != nil {
		s, err := settle(root, want)
		if err != nil {
			return nil, fmt.Errorf("module %s: deactivated, but dpkg's status: %w", m.Meta.Name, err)
		}
		d.Status = strings.TrimSpace(d.Status + " " + s)
	}
	dropCaches()
	d.Elapsed = time.Since(start)
	return d, nil
}

// remerge mounts, for each of dirs, the directory overlay of next in place
// of the one of prev (or none). A directory no module of next covers is
// left to the root overlay. On failure the directories already switched
// are switched back.
func remerge(root Root, prev, next *State, dirs []string) error {
	var done []string
	for _, d := range dirs {
		if err := switchDir(root, next, d); err != nil {
			for _, u := range done {
				switchDir(root, prev, u)
			}
			return err
		}
		done = append(done, d)
	}
	return nil
}

// switchDir replaces the directory overlay at root/d with s's. The old one
// is detached lazily: a process holding a file of it open keeps it.
func switchDir(root Root, s *State, d string) error {
	target := filepath.Join(root.Dir, d)
	table, err := mount.Table()
	if err != nil {
		return err
	}
	m, cover := DirMount(root, s.Layers(), d, s.Gen, osTree{})
	if cover {
		if err := os.MkdirAll(root.WorkDir(d, s.Gen), 0o755); err != nil {
			return err
		}
	}
	if ours(table, root, target) {
		if err := unix.Unmount(target, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("unmount %s: %w", target, err)
		}
	}
	if !cover {
		return nil
	}
	return m.Mount()
}

// dropCaches drops unused dentries and inodes, so that the root overlay
// forgets what it looked up under a directory before an overlay covered it.
func dropCaches() { os.WriteFile("/proc/sys/vm/drop_caches", []byte("2"), 0) }

// lock serializes activations in runDir.
func lock(runDir string) (func(), error) {
	if err := os.MkdirAll(layers.ActiveDir(runDir), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(layers.ActiveDir(runDir), ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// plainName refuses metadata whose module or file name is not a plain file
// name: they name paths under RunDir.
func plainName(m layers.Meta) error {
	for _, n := range []string{m.Name, m.File} {
		if n == "" || n == "." || n == ".." || strings.ContainsAny(n, "/\x00") {
			return fmt.Errorf("module %q (file %q): not a plain name", m.Name, m.File)
		}
	}
	return nil
}
