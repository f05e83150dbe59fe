package modules

import (
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/mode-build/mode/layers"
)

// Arches are the architectures mode builds for, by their Debian names (the
// same as Go's GOARCH for these).
var Arches = []string{"amd64", "arm64"}

// DefaultArch is the architecture whose layers keep the plain names: its
// layers sit directly in --out and its chains under the module's own tag,
// its cache keys carry no architecture (as before there were others).
const DefaultArch = layers.DefaultArch

// HostArch is the build host's architecture.
func HostArch() string { return runtime.GOARCH }

// CheckArch reports an architecture mode does not build for, naming it.
func CheckArch(arch string) error {
	if !slices.Contains(Arches, arch) {
		return fmt.Errorf("architecture %q: mode builds for %s", arch, strings.Join(Arches, ", "))
	}
	return nil
}

// ArchOut is the directory of arch's layers in the output directory out:
// out itself for DefaultArch, out/ARCH for the others, so that builds of one
// hierarchy for two architectures live side by side.
func ArchOut(out, arch string) string {
	if arch == "" || arch == DefaultArch {
		return out
	}
	return filepath.Join(out, arch)
}

// ArchTag is the store tag of a chain built for arch: the module's name for
// DefaultArch, NAME-ARCH for the others ('-' is in no module name).
func ArchTag(name, arch string) string { return layers.ArchTag(name, arch) }

// Arch returns the architecture name's chain is pinned to by an arch key
// (the nearest module that has one), or "" when none is.
func (h *Hierarchy) Arch(name string) (string, error) {
	chain, err := h.Chain(name)
	if err != nil {
		return "", err
	}
	for i := len(chain) - 1; i >= 0; i-- {
		if chain[i].Arch != "" {
			return chain[i].Arch, nil
		}
	}
	return "", nil
}

// BuildArch is the architecture a build of names (all modules when none)
// is for: want (--arch) when set, else the one their chains are pinned to,
// else DefaultArch's stand-in, the host's. A pinned chain of another
// architecture than want, or two pinned to different ones, is an error
// naming the module file and line.
func (h *Hierarchy) BuildArch(want string, names ...string) (string, error) {
	if want != "" {
		if err := CheckArch(want); err != nil {
			return "", fmt.Errorf("--arch: %w", err)
		}
	}
	if len(names) == 0 {
		names = h.Names()
	}
	arch, from := want, "--arch"
	for _, n := range names {
		chain, err := h.Chain(n)
		if err != nil {
			return "", err
		}
		for _, m := range chain {
			if m.Arch == "" {
				continue
			}
			if arch == "" {
				arch, from = m.Arch, m.At("arch")
			} else if m.Arch != arch {
				return "", fmt.Errorf("%s: module %s is for %s, but the build is for %s (%s)", m.At("arch"), m.Name, m.Arch, arch, from)
			}
		}
	}
	if arch == "" {
		arch = HostArch()
	}
	return arch, nil
}

// checkArches reports a module pinned to another architecture than a module
// above it in its chain.
func checkArches(byName map[string]*parsed) []error {
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	var errs []error
	for _, n := range names {
		p := byName[n]
		if p.m.Arch == "" || CheckArch(p.m.Arch) != nil {
			continue
		}
		seen := map[string]bool{p.m.Name: true}
		for n := p.m.Parent; n != "" && !seen[n]; {
			seen[n] = true
			a, ok := byName[n]
			if !ok {
				break
			}
			if a.m.Arch != "" && a.m.Arch != p.m.Arch && CheckArch(a.m.Arch) == nil {
				errs = append(errs, p.errorf("arch", "arch %s: its parent chain is %s (%s:%d): a layer goes only over layers of its own architecture",
					p.m.Arch, a.m.Arch, a.m.Path, a.lines["arch"]))
				break
			}
			n = a.m.Parent
		}
	}
	return errs
}
