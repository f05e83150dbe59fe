package media

import (
	"context"
	"path/filepath"
	"sort"

	"github.com/u-root/u-root/pkg/boot/bzimage"

	"fmt"
	"os"
	"strings"

	"github.com/mode-build/mode/squashfs"
)

// KernelVersion reads the version (uname -r) of an x86 bzImage from its
// setup header (u-root's bzimage.KVer), without running or unpacking it.
func KernelVersion(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	s, err := bzimage.KVer(f)
	if err != nil {
		return "", fmt.Errorf("kernel %s: not an x86 bzImage: %w", file, err)
	}
	v, _, _ := strings.Cut(s, " ")
	if v == "" {
		return "", fmt.Errorf("kernel %s: no version string", file)
	}
	return v, nil
}

// ChainKernel is a kernel found in a chain's layers, extracted: the image
// and its modules directory (/lib/modules/VERSION).
type ChainKernel struct {
	Version string
	Vmlinuz string
	Modules string
}

// FindKernel looks for a kernel in the layers (base first): the newest
// /boot/vmlinuz-VERSION of the topmost layer that has one (preferring one
// whose modules the chain has), with its modules, /lib/modules/VERSION or /usr/lib/modules/VERSION (merged /usr),
// from any layer. It extracts both into dir with unsquashfs and returns nil
// when the chain has no kernel. A kernel whose modules are missing is an
// error.
func FindKernel(ctx context.Context, ls []Layer, dir string) (*ChainKernel, error) {
	src, err := LocateKernel(ls)
	if err != nil || src == nil {
		return nil, err
	}
	k := &ChainKernel{Version: src.Version}
	if k.Vmlinuz, err = src.ExtractVmlinuz(ctx, dir); err != nil {
		return nil, err
	}
	if k.Modules, err = src.ExtractModules(ctx, dir); err != nil {
		return nil, err
	}
	return k, nil
}

// KernelSource is where a chain's kernel is, as LocateKernel finds it (the
// same as FindKernel's), before anything is extracted.
type KernelSource struct {
	Version    string
	Kernel     Layer  // the layer holding /boot/vmlinuz-VERSION
	Modules    Layer  // the layer holding ModulesDir's modules.dep
	ModulesDir string // "lib/modules/VERSION" or "usr/lib/modules/VERSION"
}

// LocateKernel finds the kernel FindKernel would, reading the layers'
// directories only; nil when the chain has none.
func LocateKernel(ls []Layer) (*KernelSource, error) {
	var (
		version    string
		candidates []string
		from       Layer
	)
	modules := map[string]Layer{} // "usr/lib/modules/V" → the layer holding its modules.dep
	for i := len(ls) - 1; i >= 0; i-- {
		entries, err := squashfs.Inspect(ls[i].Path)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", ls[i].Meta.File, err)
		}
		var found []string
		for _, e := range entries {
			if e.Whiteout || e.Type != squashfs.TypeFile {
				continue
			}
			if v, ok := strings.CutPrefix(e.Path, "/boot/vmlinuz-"); ok && !strings.Contains(v, "/") {
				found = append(found, v)
			}
			for _, p := range []string{"/lib/modules/", "/usr/lib/modules/"} {
				if rest, ok := strings.CutPrefix(e.Path, p); ok && strings.HasSuffix(rest, "/modules.dep") && strings.Count(rest, "/") == 1 {
					d := strings.TrimPrefix(p, "/") + strings.TrimSuffix(rest, "/modules.dep")
					if _, seen := modules[d]; !seen {
						modules[d] = ls[i]
					}
				}
			}
		}
		if version == "" && len(found) > 0 {
			candidates, from = found, ls[i]
			version = found[0]
		}
	}
	if version == "" {
		return nil, nil
	}
	// The newest version of that layer whose modules the chain has.
	sort.Slice(candidates, func(i, j int) bool { return versionLess(candidates[j], candidates[i]) })
	version = candidates[0]
	for _, v := range candidates {
		if hasModules(modules, v) {
			version = v
			break
		}
	}
	for _, d := range []string{"usr/lib/modules/" + version, "lib/modules/" + version} {
		if l, ok := modules[d]; ok {
			return &KernelSource{Version: version, Kernel: from, Modules: l, ModulesDir: d}, nil
		}
	}
	return nil, fmt.Errorf("chain: /boot/vmlinuz-%s (layer %s) has no /lib/modules/%s/modules.dep in the chain", version, from.Meta.File, version)
}

// ExtractVmlinuz extracts the kernel image into dir and returns its path.
func (k *KernelSource) ExtractVmlinuz(ctx context.Context, dir string) (string, error) {
	if err := unsquash(ctx, k.Kernel.Path, dir, "boot/vmlinuz-"+k.Version); err != nil {
		return "", err
	}
	return filepath.Join(dir, "boot", "vmlinuz-"+k.Version), nil
}

// ExtractModules extracts the kernel's modules directory into dir and
// returns its path (DIR/lib/modules/VERSION or DIR/usr/lib/modules/VERSION).
func (k *KernelSource) ExtractModules(ctx context.Context, dir string) (string, error) {
	if err := unsquash(ctx, k.Modules.Path, dir, k.ModulesDir); err != nil {
		return "", err
	}
	return filepath.Join(dir, k.ModulesDir), nil
}

// unsquash extracts path of the squashfs image into dir.
func unsquash(ctx context.Context, image, dir, path string) error {
	if err := run(ctx, "unsquashfs", "-f", "-n", "-no-xattrs", "-d", dir, image, path); err != nil {
		return fmt.Errorf("%s of %s: %w (install squashfs-tools)", path, image, err)
	}
	return nil
}

func hasModules(modules map[string]Layer, v string) bool {
	_, a := modules["usr/lib/modules/"+v]
	_, b := modules["lib/modules/"+v]
	return a || b
}

// versionLess orders kernel versions naturally: 6.1.0-9 before 6.1.0-10.
func versionLess(a, b string) bool {
	for a != "" && b != "" {
		na, ra := leadingNumber(a)
		nb, rb := leadingNumber(b)
		switch {
		case na >= 0 && nb >= 0:
			if na != nb {
				return na < nb
			}
			a, b = ra, rb
		case a[0] != b[0]:
			return a[0] < b[0]
		default:
			a, b = a[1:], b[1:]
		}
	}
	return len(a) < len(b)
}

// leadingNumber splits the decimal number s starts with (-1 if none).
func leadingNumber(s string) (int, string) {
	i := 0
	n := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' && i < 9 {
		n = n*10 + int(s[i]-'0')
		i++
	}
	if i == 0 {
		return -1, s
	}
	return n, s[i:]
}
