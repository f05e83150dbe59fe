package modeinit

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/u-root/u-root/pkg/kmodule"
	"golang.org/x/sys/unix"
)

// required are the kernel modules a boot cannot do without (when they are
// modules at all: a kernel may have them built in).
var required = map[string]bool{"loop": true, "squashfs": true, "overlay": true}

// loadModules loads every kernel module the initramfs carries, in the order of
// its modules.dep (mode initramfs writes dependencies first and only the
// modules the init needs), each with its dependencies.
func (b *boot) loadModules() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", err
	}
	dir := filepath.Join("/lib/modules", unix.ByteSliceToString(u.Release[:]))
	names, err := moduleNames(filepath.Join(dir, "modules.dep"))
	if os.IsNotExist(err) {
		return "no kernel modules for " + filepath.Base(dir), nil
	}
	if err != nil {
		return "", err
	}
	prober, err := kmodule.NewProber(kmodule.ProbeOpts{})
	if err != nil {
		return "", fmt.Errorf("kernel modules in %s: %w", dir, err)
	}
	loaded := 0
	for _, name := range names {
		if err := prober.Probe(name, ""); err != nil {
			if required[name] {
				return "", fmt.Errorf("kernel module %s: %w", name, err)
			}
			b.logf("kernel module %s: %v (going on)", name, err)
			continue
		}
		b.debugf("kernel module %s loaded", name)
		loaded++
	}
	return fmt.Sprintf("loaded %d kernel modules", loaded), nil
}

// moduleNames returns the names of the modules in a modules.dep file, in its
// order ("kernel/fs/overlayfs/overlay.ko: ..." gives "overlay").
func moduleNames(depFile string) ([]string, error) {
	f, err := os.Open(depFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		path, _, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		names = append(names, moduleName(path))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", depFile, err)
	}
	return names, nil
}

// moduleName turns a module file path into the module's name.
func moduleName(path string) string {
	base := filepath.Base(path)
	if i := strings.Index(base, ".ko"); i >= 0 {
		base = base[:i]
	}
	return strings.ReplaceAll(base, "-", "_")
}
