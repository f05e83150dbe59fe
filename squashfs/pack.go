package squashfs

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/mode-build/mode/internal/proc"
	"github.com/mode-build/mode/layers"
)

// Pack writes the tree at dir as a squashfs image at dst (SLAX dir2sb), with
// Squash: owners, modes, xattrs, hard links, devices, whiteouts and sparse
// files are kept. compression is NAME[:LEVEL]; empty means the default, zstd:9.
func Pack(ctx context.Context, dir, dst, compression string) error {
	if err := layers.CheckCompression(compression); err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("pack: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("pack: %s: not a directory", dir)
	}
	if fi, err := os.Stat(filepath.Dir(dst)); err != nil || !fi.IsDir() {
		return fmt.Errorf("pack: %s: no directory to write it in", dst)
	}
	return Squash(ctx, dir, dst, compression)
}

// Unpack extracts the squashfs image src into dir (SLAX sb2dir) with unsquashfs,
// exactly when run as root: owners, modes, xattrs, hard links, devices, fifos,
// symlinks and sparse files. It extracts into a new directory beside dir and
// renames it to dir only when whole. dir must not exist or be empty.
func Unpack(ctx context.Context, src, dir string) error {
	if err := checkSquashfs(src); err != nil {
		return fmt.Errorf("unpack: %w", err)
	}
	if err := checkEmptyOrMissing(dir); err != nil {
		return fmt.Errorf("unpack: %w", err)
	}
	bin, err := exec.LookPath("unsquashfs")
	if err != nil {
		return fmt.Errorf("unsquashfs not found (install squashfs-tools): %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".unpack-*")
	if err != nil {
		return fmt.Errorf("unpack: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	cmd := proc.Command(ctx, bin, "-f", "-st", "-n", "-q", "-d", tmp, src)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// %v, not %w: an *exec.ExitError is a cli.ExitCoder, which main would exit by silently.
		return fmt.Errorf("unsquashfs %s: %v: %s", src, err, lastLines(out.String(), 5))
	}
	// rename(2) replaces an empty directory, and fails if an entry was made in it
	// meanwhile; os.Rename refuses any existing directory.
	if err := syscall.Rename(tmp, dir); err != nil {
		return fmt.Errorf("unpack: rename %s to %s: %w", tmp, dir, err)
	}
	ok = true
	return nil
}

// checkSquashfs returns an error naming path unless it starts with a squashfs
// 4.0 superblock.
func checkSquashfs(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return fmt.Errorf("%s: %w: a directory", path, ErrNotSquashfs)
	}
	var sb superblock
	if err := binary.Read(f, binary.LittleEndian, &sb); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%s: %w: too short", path, ErrNotSquashfs)
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	if sb.Magic != sqfsMagic || sb.VerMajor != 4 {
		return fmt.Errorf("%s: %w", path, ErrNotSquashfs)
	}
	return nil
}

// checkEmptyOrMissing returns an error naming dir when it exists and is not an
// empty directory.
func checkEmptyOrMissing(dir string) error {
	f, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: exists and is not a directory", dir)
	}
	if names, _ := f.Readdirnames(1); len(names) > 0 {
		return fmt.Errorf("%s: directory is not empty (unpack only into a new or empty directory)", dir)
	}
	return nil
}
