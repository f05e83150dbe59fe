package modeinit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/mount"
	"golang.org/x/sys/unix"
)

// changesSubdir is where mode.changes=DEV keeps upper directories on its
// disk, unless the parameter names a directory (DEV:DIR).
const changesSubdir = "mode/changes"

// changes mounts the disk of mode.changes=DEV[:DIR] read-write and puts the
// overlay's upper and work directories in DIR/KEY/{upper,work}, KEY being the
// chain's key (chainKey): another chain, or the same one with other layers
// left out, gets a directory of its own and never sees these changes. The
// upper is bound on /run/mode/changes, where mode save reads it. The disk
// must hold a file system: the init never formats one.
func (b *boot) changes() (string, error) {
	spec := b.p.changes
	if isMediumSpec(spec) {
		s, err := resolveMedium(spec, mediumWait)
		if err != nil {
			return "", fmt.Errorf("mode.changes=%s: %w", b.p.changes, err)
		}
		spec = s
	}
	if !strings.HasPrefix(spec, "/dev/") {
		return "", fmt.Errorf("mode.changes=%s: want a block device, /dev/NAME[:DIR]", spec)
	}
	if !strings.Contains(spec, ":") {
		spec += ":" + changesSubdir
	}
	dir, err := b.source(spec, true)
	if err != nil {
		return "", fmt.Errorf("mode.changes=%s: %w (mode never formats a disk: make a file system on it first, e.g. mkfs.ext4)", b.p.changes, err)
	}
	key, err := chainKey(b.dl)
	if err != nil {
		return "", fmt.Errorf("mode.changes=%s: %w", b.p.changes, err)
	}
	d := filepath.Join(dir, key)
	upper, work := filepath.Join(d, "upper"), filepath.Join(d, "work")
	_, err = os.Stat(upper)
	kept := err == nil
	for _, p := range []string{upper, work} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return "", fmt.Errorf("mode.changes=%s: %w", b.p.changes, err)
		}
	}
	bind := mount.Mount{Source: upper, Target: changesDir, Flags: unix.MS_BIND}
	if err := bind.Mount(); err != nil {
		return "", fmt.Errorf("mode.changes=%s: %w", b.p.changes, err)
	}
	b.upper, b.work = upper, work
	dev, sub, _ := strings.Cut(spec, ":")
	b.changesAt = dev + ":" + filepath.Join(sub, key)
	// For whoever looks at the disk: which chain a directory belongs to.
	if err := writeBooted(filepath.Join(d, "chain.json"), b.booted()); err != nil {
		return "", fmt.Errorf("mode.changes=%s: %w", b.p.changes, err)
	}
	state := "new"
	if kept {
		state = "kept from an earlier boot"
	}
	return fmt.Sprintf("changes on %s (%s)", b.changesAt, state), nil
}

// chainKey names a chain's changes directory: the hex SHA-256 of its layers'
// digests, base first, one a line. It is the same whether the chain came from
// a registry or from local media, and differs as soon as one layer does. A
// layer without a recorded digest (local media without FILE.json) is hashed.
func chainKey(d *download) (string, error) {
	h := sha256.New()
	for _, m := range d.metas {
		dg := m.Digest
		if dg == "" {
			var err error
			if dg, _, err = layers.FileDigest(filepath.Join(d.dir, m.File)); err != nil {
				return "", err
			}
		}
		fmt.Fprintln(h, dg)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
