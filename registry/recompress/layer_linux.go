package recompress

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/mount"
	"github.com/mode-build/mode/squashfs"
)

// squashAgain writes the squashfs image src (a layer file: what follows its
// squashfs data, a verity tree, is ignored) again at dst with compression
// (NAME[:LEVEL]), from a read-only mount of src: the same entries, owners,
// modes, xattrs (overlayfs's opaque markers), hard links, devices and
// whiteouts, other compressed bytes. Needs root (a loop mount).
func squashAgain(ctx context.Context, src, dst, compression string) error {
	if err := layers.CheckCompression(compression); err != nil {
		return fmt.Errorf("recompress: %w", err)
	}
	if _, err := squashfs.Inspect(src); err != nil {
		return fmt.Errorf("recompress %s: %w", src, err)
	}
	dir, err := os.MkdirTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".recompress-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir) // after the unmount below: only an empty directory
	mnt := filepath.Join(dir, "src")
	if err := mount.MountSquashfs(src, mnt); err != nil {
		return fmt.Errorf("recompress: %w", err)
	}
	err = squashfs.Squash(ctx, mnt, dst, compression)
	if uerr := mount.Unmount(mnt); err == nil && uerr != nil {
		err = fmt.Errorf("recompress %s: %w", src, uerr)
	}
	return err
}
