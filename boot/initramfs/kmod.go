package initramfs

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// DefaultModules are the kernel modules the init loads, where the kernel has
// them as modules: disks and file systems first, then network drivers, in an
// order that lets each find its bus.
var DefaultModules = []string{
	"loop", "squashfs", "overlay", "dm_mod", "dm_verity", "nbd",
	"virtio_pci", "virtio_blk", "virtio_scsi", "virtio_net", "virtio_rng",
	"crc32c_generic", "ext4", "vfat", "isofs", "nls_cp437", "nls_iso8859_1", // ext4 checksums need crc32c: no modprobe in the initramfs
	"sd_mod", "sr_mod", "ahci", "ata_piix", "nvme", "usb_storage", "uas",
	"xhci_pci", "ehci_pci", "ohci_pci", "uhci_hcd", "usbhid", "hid_generic", // USB sticks, a keyboard for the rescue shell
	"e1000", "e1000e", "igb", "igc", "ixgbe", "r8169", "tg3", "bnx2", "vmxnet3", "ena", "gve",
}

// kernelTree is a kernel's modules: dir is /lib/modules/VERSION of some tree.
type kernelTree struct {
	dir     string
	version string
	files   map[string]string // module name → path relative to dir
	builtin map[string]bool
}

// openKernel finds the modules of the kernel in src: a .deb (linux-image-*),
// a /lib/modules/VERSION directory, or a root holding lib/modules/VERSION.
// tmp receives an unpacked .deb.
func openKernel(ctx context.Context, src, tmp string) (*kernelTree, error) {
	if strings.HasSuffix(src, ".deb") {
		out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", src, tmp).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("dpkg-deb -x %s: %w: %s", src, err, bytes.TrimSpace(out))
		}
		src = tmp
	}
	dir := src
	if _, err := os.Stat(filepath.Join(src, "kernel")); err != nil {
		vs, _ := filepath.Glob(filepath.Join(src, "lib/modules/*/kernel"))
		if len(vs) != 1 {
			return nil, fmt.Errorf("kernel modules %s: want one lib/modules/VERSION/kernel or a kernel/ directory, found %d", src, len(vs))
		}
		dir = filepath.Dir(vs[0])
	}
	k := &kernelTree{dir: dir, version: filepath.Base(dir), files: map[string]string{}, builtin: map[string]bool{}}
	err := filepath.WalkDir(filepath.Join(dir, "kernel"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".ko") {
			rel, _ := filepath.Rel(dir, p)
			k.files[modName(p)] = rel
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kernel modules %s: %w", dir, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil {
		for _, l := range strings.Fields(string(b)) {
			k.builtin[modName(l)] = true
		}
	}
	return k, nil
}

// modName is a module's name from its file path.
func modName(p string) string {
	b := filepath.Base(p)
	if i := strings.Index(b, ".ko"); i >= 0 {
		b = b[:i]
	}
	return strings.ReplaceAll(b, "-", "_")
}

// depends reads a module's direct dependencies from its .modinfo section.
func (k *kernelTree) depends(name string) ([]string, error) {
	info, err := k.modinfo(name)
	if err != nil {
		return nil, err
	}
	for _, kv := range info {
		if v, ok := strings.CutPrefix(kv, "depends="); ok {
			if v == "" {
				return nil, nil
			}
			var deps []string
			for _, d := range strings.Split(v, ",") {
				deps = append(deps, strings.ReplaceAll(d, "-", "_"))
			}
			sort.Strings(deps)
			return deps, nil
		}
	}
	return nil, nil
}

// aliases reads the device patterns a module drives (its alias= entries,
// "pci:v00001AF4d00001000sv*sd*bc*sc*i*"), in their order.
func (k *kernelTree) aliases(name string) ([]string, error) {
	info, err := k.modinfo(name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, kv := range info {
		if v, ok := strings.CutPrefix(kv, "alias="); ok {
			out = append(out, v)
		}
	}
	return out, nil
}

// modinfo returns the key=value entries of a module's .modinfo section.
func (k *kernelTree) modinfo(name string) ([]string, error) {
	p := filepath.Join(k.dir, k.files[name])
	f, err := elf.Open(p)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", p, err)
	}
	defer f.Close()
	s := f.Section(".modinfo")
	if s == nil {
		return nil, fmt.Errorf("module %s: no .modinfo section", p)
	}
	data, err := s.Data()
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", p, err)
	}
	var out []string
	for _, kv := range bytes.Split(data, []byte{0}) {
		if len(kv) > 0 {
			out = append(out, string(kv))
		}
	}
	return out, nil
}

// modulesAlias renders the aliases of mods as a modules.alias file
// ("alias PATTERN NAME" lines, depmod's format), in their order.
func (k *kernelTree) modulesAlias(mods []module) ([]byte, error) {
	var b bytes.Buffer
	for _, m := range mods {
		as, err := k.aliases(m.name)
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			fmt.Fprintf(&b, "alias %s %s\n", a, m.name)
		}
	}
	return b.Bytes(), nil
}

// archivePath is where module name goes in the initramfs: its path with the
// file named after the module, underscores only ("nls_iso8859-1.ko" becomes
// "nls_iso8859_1.ko"), as u-root's kmodule looks modules up by name.
func (k *kernelTree) archivePath(name string) string {
	return filepath.Join(filepath.Dir(k.files[name]), name+".ko")
}

// module is one kernel module to carry: its path relative to the modules
// directory and those of its direct dependencies.
type module struct {
	name, path string
	deps       []string // paths
}

// resolve returns the wanted modules the kernel has as modules, with their
// dependencies, each after what it depends on; and the wanted names it lacks
// (built in or absent).
func (k *kernelTree) resolve(want []string) (mods []module, builtin, missing []string, err error) {
	done := map[string]bool{}
	var visit func(name string, stack []string) error
	visit = func(name string, stack []string) error {
		if done[name] {
			return nil
		}
		for _, s := range stack {
			if s == name {
				return fmt.Errorf("module %s: circular dependency %s", name, strings.Join(append(stack, name), " → "))
			}
		}
		deps, err := k.depends(name)
		if err != nil {
			return err
		}
		m := module{name: name, path: k.archivePath(name)}
		for _, d := range deps {
			if _, ok := k.files[d]; !ok {
				return fmt.Errorf("module %s depends on %s, which %s lacks", name, d, k.dir)
			}
			if err := visit(d, append(stack, name)); err != nil {
				return err
			}
			m.deps = append(m.deps, k.archivePath(d))
		}
		done[name] = true
		mods = append(mods, m)
		return nil
	}
	for _, name := range want {
		name = strings.ReplaceAll(name, "-", "_")
		if _, ok := k.files[name]; !ok {
			if k.builtin[name] {
				builtin = append(builtin, name)
			} else {
				missing = append(missing, name)
			}
			continue
		}
		if err := visit(name, nil); err != nil {
			return nil, nil, nil, err
		}
	}
	return mods, builtin, missing, nil
}

// modulesDep renders mods as a modules.dep file, in their order.
func modulesDep(mods []module) []byte {
	var b bytes.Buffer
	for _, m := range mods {
		fmt.Fprintf(&b, "%s:", m.path)
		for _, d := range m.deps {
			fmt.Fprintf(&b, " %s", d)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}
