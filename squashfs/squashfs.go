package squashfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/mode-build/mode/internal/proc"
	"github.com/mode-build/mode/layers"
)

// Squash writes the tree at dir as a squashfs image at dst with mksquashfs,
// keeping owners, modes, xattrs, hard links, devices and whiteouts as they are.
// It writes to a temporary name beside dst and renames it only when whole.
func Squash(ctx context.Context, dir, dst, compression string) error {
	return squash(ctx, dir, dst, compression, nil, nil)
}

// squash is Squash with more mksquashfs arguments, and fix run on the whole
// temporary image before it is renamed.
func squash(ctx context.Context, dir, dst, compression string, more []string, fix func(tmp string) error) error {
	if compression == "" {
		compression = layers.Compressions[0]
	}
	if err := layers.CheckCompression(compression); err != nil {
		return err
	}
	bin, err := exec.LookPath("mksquashfs")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoMksquashfs, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	err = tmp.Chmod(0o644)      // CreateTemp makes 0600; layers are read by anyone (inspect)
	tmp.Close()
	if err != nil {
		return err
	}
	args := append([]string{dir, tmp.Name(), "-noappend", "-no-progress", "-quiet", "-comp", compression}, more...)
	cmd := proc.Command(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	err = cmd.Run()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("mksquashfs %s: %v: %s", dir, err, lastLines(stderr.String(), 5))
	}
	if fix != nil {
		if err := fix(tmp.Name()); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// ErrNoMksquashfs is returned (wrapped) when mksquashfs is not in PATH.
var ErrNoMksquashfs = errors.New("mksquashfs not found: install squashfs-tools (in a booted system: add squashfs-tools to a module of its chain, e.g. packages: [squashfs-tools], and rebuild)")

// lastLines returns at most n trailing lines of s, trimmed, for error messages.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}
