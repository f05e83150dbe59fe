package squashfs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/mount"
)

// Recompress writes the squashfs image src (a layer file: what follows its
// squashfs data, a verity tree, is ignored) again at dst with compression
// (NAME[:LEVEL]), from a read-only mount of src: the same entries, owners,
// modes, xattrs (overlayfs's opaque markers), hard links, devices and
// whiteouts, other compressed bytes. Needs root (a loop mount).
func Recompress(ctx context.Context, src, dst, compression string) error {
	if err := layers.CheckCompression(compression); err != nil {
		return fmt.Errorf("recompress: %w", err)
	}
	if _, err := Inspect(src); err != nil {
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
	err = squash(ctx, mnt, dst, compression, nil, nil, nil)
	if uerr := mount.Unmount(mnt); err == nil && uerr != nil {
		err = fmt.Errorf("recompress %s: %w", src, uerr)
	}
	return err
}
