package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// LayersDisk writes a disk image holding the layers (.sqfs) and their metadata
// (.json) of dir, for the init's mode.from=/dev/vdX. The image is itself a
// squashfs, uncompressed (the layers are compressed already), so it needs no
// root and no mkfs.
func LayersDisk(ctx context.Context, dir, image string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	n := 0
	var skip []string
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() && (strings.HasSuffix(name, ".sqfs") || strings.HasSuffix(name, ".json")) {
			n++
			continue
		}
		skip = append(skip, name)
	}
	if n == 0 {
		return fmt.Errorf("layers disk: no .sqfs in %s", dir)
	}
	args := []string{dir, image, "-noappend", "-no-progress", "-quiet", "-noI", "-noD", "-noF", "-noX", "-all-root"}
	if len(skip) > 0 {
		args = append(append(args, "-e"), skip...)
	}
	out, err := exec.CommandContext(ctx, "mksquashfs", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("layers disk %s: mksquashfs: %w: %s", image, err, bytes.TrimSpace(out))
	}
	return nil
}

// EmptyDisk writes an ext4 image of size MiB, for mode.cache.
func EmptyDisk(ctx context.Context, image string, mib int) error {
	if err := os.MkdirAll(filepath.Dir(image), 0o755); err != nil {
		return err
	}
	f, err := os.Create(image)
	if err != nil {
		return err
	}
	err = f.Truncate(int64(mib) << 20)
	f.Close()
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, "mkfs.ext4", "-q", "-F", "-L", "mode-cache", image).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mkfs.ext4 %s: %w: %s", image, err, bytes.TrimSpace(out))
	}
	return nil
}

// AddDisk adds the disk image file to m as its next virtio disk, writable,
// first making it an empty ext4 file system of mib MiB when it is missing
// (EmptyDisk), and returns its device in the guest: /dev/vdX (mode boot's
// --changes disk, for mode.changes=).
func (m *Machine) AddDisk(ctx context.Context, file string, mib int) (string, error) {
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		if err := EmptyDisk(ctx, file, mib); err != nil {
			return "", err
		}
	}
	dev := fmt.Sprintf("/dev/vd%c", 'a'+len(m.Disks))
	m.Disks = append(m.Disks, Disk{File: file})
	return dev, nil
}
