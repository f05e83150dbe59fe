package save

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/modules/clean"
	"github.com/mode-build/mode/mount"
	"github.com/mode-build/mode/squashfs"
	"github.com/mode-build/mode/verity"
	"golang.org/x/sys/unix"
)

// Options say what to save as: the layer's name (a module name), the
// directory its .sqfs and .json go to, its compression ("" for the default),
// and host files that must not leak into it (Cleaning.HostFiles).
type Options struct {
	Name, Out, Compression string
	HostFiles              []string
}

// SaveChanges saves the changes of the system booted as runDir says (its
// chain.json, layers and changes/ upper directory) as a layer named o.Name in
// the directory o.Out: <chain>-NAME.sqfs and its .json. It cleans as a
// build does (built-in exclusions, /etc/machine-id emptied, copy-ups equal
// to the booted chain pruned, overlay-internal xattrs dropped) without
// changing the live upper directory and without copying it (squashfs.SquashFiltered). The
// booted chain is compared through its layers' mounts under runDir/layers,
// or, where a layer is not mounted there, a mount of its file made in a
// scratch directory under runDir. It returns the new layer's metadata.
func SaveChanges(ctx context.Context, runDir string, o Options) (layers.Meta, error) {
	start := time.Now()
	b, err := layers.ReadBooted(runDir)
	if err != nil {
		return layers.Meta{}, err
	}
	meta, err := layers.SavedMeta(b.Layers, o.Name)
	if err != nil {
		return layers.Meta{}, err
	}
	if b.Digest != "" {
		meta.ParentManifest = b.Digest
	}
	if _, err := exec.LookPath("mksquashfs"); err != nil {
		return layers.Meta{}, fmt.Errorf("save: %w", squashfs.ErrNoMksquashfs)
	}
	changes := layers.ChangesDir(runDir)
	if fi, err := os.Stat(changes); err != nil || !fi.IsDir() {
		return layers.Meta{}, fmt.Errorf("save: %s: no changes directory (the overlay upper): %v", changes, err)
	}
	if err := CheckSaveOut(o.Out, changes); err != nil {
		return layers.Meta{}, err
	}
	scratch, err := os.MkdirTemp(runDir, ".save-")
	if err != nil {
		return layers.Meta{}, fmt.Errorf("save: %w", err)
	}
	// The stack owns scratch: its Close removes it once nothing is mounted
	// there (never a RemoveAll into a mount that would not go).
	stack, err := mount.Open(bootedPlan(runDir, scratch, b.Layers))
	if err != nil {
		os.Remove(scratch) // empty unless an unmount failed
		return layers.Meta{}, fmt.Errorf("save: the booted chain: %w", err)
	}
	defer stack.Close()
	lower := stack.Lower
	plan, err := clean.PlanOf(changes, clean.Options{Lower: lower, HostFiles: o.HostFiles})
	if err != nil {
		return layers.Meta{}, fmt.Errorf("save: %w", err)
	}
	meta.Pruned, meta.Excluded = plan.Pruned, plan.Excluded
	dst, err := removeSavedMeta(o.Out, meta.File)
	if err != nil {
		return layers.Meta{}, err
	}
	f := squashfs.Filter{Drop: plan.Drop, Empty: plan.Empty, StripXattrs: len(plan.Strip) > 0}
	if err := squashfs.SquashFiltered(ctx, changes, dst, o.Compression, f); err != nil {
		return layers.Meta{}, fmt.Errorf("save %s: %w", meta.File, err)
	}
	return meta, FinishSaved(dst, &meta, o.Compression, start)
}

// SaveWorkspace saves what was done in ws (a workspace over the layers
// parents, base first: mode shell) as a layer named o.Name in o.Out, cleaned
// as a build cleans. It seals ws and cleans its upper directory in place (it
// is ws's own); Close ws after.
func SaveWorkspace(ctx context.Context, ws *mount.Stack, parents []layers.Meta, o Options) (layers.Meta, error) {
	start := time.Now()
	meta, err := layers.SavedMeta(parents, o.Name)
	if err != nil {
		return layers.Meta{}, err
	}
	if _, err := os.Stat(o.Out); err != nil {
		return layers.Meta{}, fmt.Errorf("save: output directory: %w", err)
	}
	if err := ws.Seal(); err != nil {
		return layers.Meta{}, err
	}
	meta.Pruned, meta.Excluded, err = clean.Clean(ws.Upper, clean.Options{Lower: ws.Lower, HostFiles: o.HostFiles})
	if err != nil {
		return layers.Meta{}, fmt.Errorf("save: %w", err)
	}
	dst, err := removeSavedMeta(o.Out, meta.File)
	if err != nil {
		return layers.Meta{}, err
	}
	if err := squashfs.Squash(ctx, ws.Upper, dst, o.Compression); err != nil {
		return layers.Meta{}, fmt.Errorf("save %s: %w", meta.File, err)
	}
	return meta, FinishSaved(dst, &meta, o.Compression, start)
}

// removeSavedMeta removes out/FILE.json, so that a crash before the new
// layer is whole leaves no metadata that names another layer, and returns
// out/FILE.
func removeSavedMeta(out, file string) (string, error) {
	dst := filepath.Join(out, file)
	if err := os.Remove(strings.TrimSuffix(dst, ".sqfs") + ".json"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	return dst, nil
}

// bootedPlan stacks the booted chain read-only: each layer's mount under
// runDir/layers where it is mounted, else a mount of its file in scratch.
func bootedPlan(runDir, scratch string, metas []layers.Meta) mount.Plan {
	var ls []mount.Layer
	for i, m := range metas {
		stem := filepath.Join(layers.LayersDir(runDir), strings.TrimSuffix(m.File, ".sqfs"))
		if mount.IsMountPoint(stem) {
			ls = append(ls, mount.Layer{Target: stem, Mounted: true})
			continue
		}
		ls = append(ls, mount.Layer{File: filepath.Join(layers.LayersDir(runDir), m.File),
			Target: filepath.Join(scratch, "l", strconv.Itoa(i))})
	}
	p := mount.Merged(ls, filepath.Join(scratch, "lower"))
	p.Dir = scratch
	return p
}

// overlayMagic is overlayfs' statfs type.
const overlayMagic = 0x794c7630

// CheckSaveOut refuses an output directory that would put the saved layer
// into the changes being saved: one inside changes, or on an overlay file
// system (a booted system's root, whose upper is the changes).
func CheckSaveOut(out, changes string) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return fmt.Errorf("save: output directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("save: output %s is not a directory", out)
	}
	if c, err := filepath.Abs(changes); err == nil && (abs == c || strings.HasPrefix(abs, c+"/")) {
		return fmt.Errorf("save: output %s is inside the changes %s", out, changes)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(abs, &st); err == nil && st.Type == overlayMagic {
		return fmt.Errorf("save: output %s is on the overlay root: the layer would land in the very changes it saves (in RAM); give --out a directory on a disk", out)
	}
	return nil
}

// OnTmpfs tells whether dir is on a RAM file system (tmpfs or ramfs).
func OnTmpfs(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && (st.Type == unix.TMPFS_MAGIC || st.Type == unix.RAMFS_MAGIC)
}

// FinishSaved appends the verity hash tree to the layer file at sqfs and
// completes m for it (verity parameters, digest, size, compression, time)
// and writes it as the JSON file beside it (base-console-mine.json),
// through a temporary file and a rename.
func FinishSaved(sqfs string, m *layers.Meta, compression string, start time.Time) error {
	vp, d, n, err := verity.AppendDigest(sqfs)
	if err != nil {
		return err
	}
	m.Verity = vp
	if compression, err = layers.CanonicalCompression(compression); err != nil {
		return err
	}
	m.Digest, m.Size, m.Compression = d, n, compression
	m.Built, m.Seconds = time.Now().UTC(), time.Since(start).Seconds()
	return layers.WriteMeta(strings.TrimSuffix(sqfs, ".sqfs")+".json", *m)
}
