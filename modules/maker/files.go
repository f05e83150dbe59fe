package maker

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mode-build/mode/internal/proc"
	"github.com/mode-build/mode/modules"
)

// copyFiles runs m's files step: each source copied into root at its
// destination, owned by root, with its mode or the one the entry gives.
// Every operation stays inside root (inroot.go).
func copyFiles(m *modules.Module, root string) error {
	if len(m.Files) == 0 {
		return nil
	}
	rootF, err := openRoot(root)
	if err != nil {
		return err
	}
	defer rootF.Close()
	for _, f := range m.Files {
		if err := copyIn(rootF, f.Dst, m.Source(f.Src)); err != nil {
			return fmt.Errorf("%s: files %s → %s: %w", m.Path, f.Src, f.Dst, err)
		}
		if f.Mode != "" {
			mode, err := strconv.ParseUint(f.Mode, 8, 32)
			if err != nil {
				return fmt.Errorf("%s: files %s: mode %q: %w", m.Path, f.Dst, f.Mode, err)
			}
			if err := chmodIn(rootF, f.Dst, uint32(mode)); err != nil {
				return fmt.Errorf("%s: files %s: mode %s: %w", m.Path, f.Dst, f.Mode, err)
			}
		}
	}
	return nil
}

// fromSource fills root from m's from: a directory, a tar archive or a
// squashfs image, exactly (owners, modes, xattrs, links, devices), then
// from.host's files when host is set (a build for the host's architecture).
func fromSource(ctx context.Context, m *modules.Module, root string, host bool) error {
	var argv []string
	var src string
	switch f := m.From; {
	case f.Dir != "":
		src = m.Source(f.Dir)
		argv = []string{"cp", "-a", "--", src + "/.", root + "/"}
	case f.Tar != "":
		src = m.Source(f.Tar)
		argv = []string{"tar", "-xpf", src, "-C", root, "--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls"}
	case f.Squashfs != "":
		src = m.Source(f.Squashfs)
		argv = []string{"unsquashfs", "-f", "-q", "-n", "-d", root, src}
	default:
		return fmt.Errorf("%s: from names no source", m.Path)
	}
	var out bytes.Buffer
	cmd := proc.Command(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s: from %s: %s: %w: %s", m.Path, src, argv[0], err, strings.TrimSpace(out.String()))
	}
	if len(m.From.Host) == 0 || !host {
		return nil
	}
	rootF, err := openRoot(root)
	if err != nil {
		return err
	}
	defer rootF.Close()
	for _, h := range m.From.Host {
		real, err := filepath.EvalSymlinks(h) // a host library is often a link: copy what it names
		if err != nil {
			return fmt.Errorf("%s: from host %s: %w", m.Path, h, err)
		}
		if err := copyIn(rootF, h, real); err != nil {
			return fmt.Errorf("%s: from host %s: %w", m.Path, h, err)
		}
	}
	return nil
}
