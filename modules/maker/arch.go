package maker

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mode-build/mode/internal/proc"
	"github.com/mode-build/mode/modules"
	"github.com/mode-build/mode/modules/chroot"
	"github.com/mode-build/mode/modules/debian"
)

// foreign reports whether mk builds for another architecture than the host's.
func (mk *Maker) foreign() bool {
	return mk.Arch != "" && mk.Arch != modules.HostArch()
}

// emulate readies QEMU user emulation for m's steps when mk builds for
// another architecture and m has steps that run programs of the tree.
func (mk *Maker) emulate(m *modules.Module) error {
	if !mk.foreign() || (len(m.Run) == 0 && len(m.Packages) == 0 && len(m.Remove) == 0 && m.Bootstrap == nil) {
		return nil
	}
	if err := chroot.Emulate(mk.Arch); err != nil {
		return fmt.Errorf("%s: building for %s: %w", m.Path, mk.Arch, err)
	}
	return nil
}

// extractDirs are the parts of an extracted tree a from.foreign copies: the
// packages' files, not the bootstrapper's scaffolding (apt's and dpkg's
// state, /dev, /var, /tmp, the build host's resolv.conf).
var extractDirs = []string{"bin", "sbin", "lib", "lib64", "usr", "etc"}

// extractSkip are paths under extractDirs left out all the same.
var extractSkip = []string{"etc/apt", "etc/dpkg", "etc/resolv.conf", "etc/hostname", "etc/fstab"}

// fromForeign unpacks m.From.Foreign's packages, of mk's architecture, into
// root: mmdebstrap's extract variant in a scratch directory (no maintainer
// script runs, so no emulation is needed), then its packages' files copied.
func (mk *Maker) fromForeign(ctx context.Context, m *modules.Module, root string) error {
	f := m.From.Foreign
	suite := f.Suite
	if suite == "" {
		suite = debian.HostCodename()
	}
	dir, err := os.MkdirTemp(mk.scratch(), scratchPrefix("foreign"))
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil { // _apt downloads into it
		return err
	}
	tree := filepath.Join(dir, "root")
	if err := os.Mkdir(tree, 0o755); err != nil {
		return err
	}
	b := debian.Bootstrap{Suite: suite, Variant: "extract", Include: f.Packages, Architecture: mk.Arch}
	if err := mk.debootstrap(ctx, m, b, tree); err != nil {
		return fmt.Errorf("%s: from foreign %s: %w", m.At("from.foreign"), strings.Join(f.Packages, " "), err)
	}
	for _, s := range extractSkip {
		if err := os.RemoveAll(filepath.Join(tree, s)); err != nil {
			return err
		}
	}
	for _, d := range extractDirs {
		src := filepath.Join(tree, d)
		if fi, err := os.Lstat(src); err != nil || !fi.IsDir() {
			continue // absent, or a usr-merge link: its files come with usr
		}
		var out bytes.Buffer
		cmd := proc.Command(ctx, "cp", "-a", "--", src, root+"/")
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: from foreign: copy /%s: %w: %s", m.At("from.foreign"), d, err, strings.TrimSpace(out.String()))
		}
	}
	return nil
}
