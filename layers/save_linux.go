package layers

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

	"golang.org/x/sys/unix"
)

// SaveOptions say what to save as: the layer's name (a module name), the
// directory its .sqfs and .json go to, its compression ("" for the default),
// and host files that must not leak into it (Cleaning.HostFiles).
type SaveOptions struct {
	Name, Out, Compression string
	HostFiles              []string
}

// SaveChanges saves the changes of the system booted as runDir says (its
// chain.json, layers and changes/ upper directory) as a layer named o.Name in
// the directory o.Out: <chain>-NAME.sqfs and its .json. It cleans as a
// build does (built-in exclusions, /etc/machine-id emptied, copy-ups equal
// to the booted chain pruned, overlay-internal xattrs dropped) without
// changing the live upper directory and without copying it (SquashPlan). The
// booted chain is compared through its layers' mounts under runDir/layers,
// or, where a layer is not mounted there, a mount of its file made in a
// scratch directory under runDir. It returns the new layer's metadata.
func SaveChanges(ctx context.Context, runDir string, o SaveOptions) (Meta, error) {
	start := time.Now()
	b, err := ReadBooted(runDir)
	if err != nil {
		return Meta{}, err
	}
	meta, err := SavedMeta(b.Layers, o.Name)
	if err != nil {
		return Meta{}, err
	}
	if b.Digest != "" {
		meta.ParentManifest = b.Digest
	}
	if _, err := exec.LookPath("mksquashfs"); err != nil {
		return Meta{}, fmt.Errorf("save: %w", ErrNoMksquashfs)
	}
	changes := ChangesDir(runDir)
	if fi, err := os.Stat(changes); err != nil || !fi.IsDir() {
		return Meta{}, fmt.Errorf("save: %s: no changes directory (the overlay upper): %v", changes, err)
	}
	if err := CheckSaveOut(o.Out, changes); err != nil {
		return Meta{}, err
	}
	scratch, err := os.MkdirTemp(runDir, ".save-")
	if err != nil {
		return Meta{}, fmt.Errorf("save: %w", err)
	}
	var mounted []string
	defer func() {
		for i := len(mounted) - 1; i >= 0; i-- {
			Unmount(mounted[i])
		}
		os.RemoveAll(scratch)
	}()
	lower, err := bootedLower(runDir, scratch, b.Layers, &mounted)
	if err != nil {
		return Meta{}, err
	}
	plan, err := PlanClean(changes, Cleaning{Lower: lower, HostFiles: o.HostFiles})
	if err != nil {
		return Meta{}, fmt.Errorf("save: %w", err)
	}
	meta.Pruned, meta.Excluded = plan.Pruned, plan.Excluded
	dst, err := removeSavedMeta(o.Out, meta.File)
	if err != nil {
		return Meta{}, err
	}
	if err := SquashPlan(ctx, changes, dst, o.Compression, plan); err != nil {
		return Meta{}, fmt.Errorf("save %s: %w", meta.File, err)
	}
	return meta, FinishSaved(dst, &meta, o.Compression, start)
}

// SaveWorkspace saves what was done in ws (a workspace over the layers
// parents, base first: mode shell) as a layer named o.Name in o.Out, cleaned
// as a build cleans. It seals ws and cleans its upper directory in place (it
// is ws's own); Close ws after.
func SaveWorkspace(ctx context.Context, ws *Workspace, parents []Meta, o SaveOptions) (Meta, error) {
	start := time.Now()
	meta, err := SavedMeta(parents, o.Name)
	if err != nil {
		return Meta{}, err
	}
	if _, err := os.Stat(o.Out); err != nil {
		return Meta{}, fmt.Errorf("save: output directory: %w", err)
	}
	if err := ws.Seal(); err != nil {
		return Meta{}, err
	}
	meta.Pruned, meta.Excluded, err = Clean(ws.Upper, Cleaning{Lower: ws.Lower, HostFiles: o.HostFiles})
	if err != nil {
		return Meta{}, fmt.Errorf("save: %w", err)
	}
	dst, err := removeSavedMeta(o.Out, meta.File)
	if err != nil {
		return Meta{}, err
	}
	if err := Squash(ctx, ws.Upper, dst, o.Compression); err != nil {
		return Meta{}, fmt.Errorf("save %s: %w", meta.File, err)
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

// bootedLower returns the booted chain merged read-only: each layer's mount
// under runDir/layers (or a mount of its file made in scratch), stacked.
func bootedLower(runDir, scratch string, metas []Meta, mounted *[]string) (string, error) {
	var lowers []string // top first
	for i, m := range metas {
		stem := filepath.Join(LayersDir(runDir), strings.TrimSuffix(m.File, ".sqfs"))
		if isMountPoint(stem) {
			lowers = append([]string{stem}, lowers...)
			continue
		}
		file := filepath.Join(LayersDir(runDir), m.File)
		if _, err := os.Stat(file); err != nil {
			return "", fmt.Errorf("save: layer %s is neither mounted at %s nor in %s", m.File, stem, LayersDir(runDir))
		}
		target := filepath.Join(scratch, "l", strconv.Itoa(i))
		if err := MountSquashfs(file, target); err != nil {
			return "", err
		}
		*mounted = append(*mounted, target)
		lowers = append([]string{target}, lowers...)
	}
	if len(lowers) == 1 {
		return lowers[0], nil
	}
	ov := Overlay(lowers, "", "", filepath.Join(scratch, "lower"))
	if err := ov.Mount(); err != nil {
		return "", fmt.Errorf("save: the booted chain: %w", err)
	}
	*mounted = append(*mounted, ov.Target)
	return ov.Target, nil
}

// isMountPoint tells whether the directory p is on another file system than
// its parent.
func isMountPoint(p string) bool {
	var a, b unix.Stat_t
	if unix.Lstat(p, &a) != nil || a.Mode&unix.S_IFMT != unix.S_IFDIR || unix.Lstat(filepath.Dir(p), &b) != nil {
		return false
	}
	return a.Dev != b.Dev
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
