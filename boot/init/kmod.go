package modeinit

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/u-root/u-root/pkg/kmodule"
	"golang.org/x/sys/unix"
)

// required are the kernel modules a boot cannot do without (when they are
// modules at all: a kernel may have them built in).
var required = map[string]bool{"loop": true, "squashfs": true, "overlay": true}

// kmods are the kernel modules the initramfs carries: their names in the
// order of its modules.dep (mode initramfs writes dependencies first and only
// the modules the init needs) and whether each is a network driver.
type kmods struct {
	dir    string
	prober *kmodule.Prober
	names  []string
	net    map[string]bool
	absent map[string]bool // PCI drivers with no device here (see pciAbsent)
}

// netDriverDirs hold the modules that bring up a network interface: NIC
// drivers and the virtio bus they sit on (virtio_net's device appears only
// once virtio_pci is in; modules.dep does not say so).
var netDriverDirs = []string{"kernel/drivers/net/", "kernel/drivers/virtio/"}

// loadNetDrivers is the first boot step: it loads the network drivers, each
// with its dependencies, so that DHCP can start while the other modules load.
func (b *boot) loadNetDrivers() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", err
	}
	dir := filepath.Join("/lib/modules", unix.ByteSliceToString(u.Release[:]))
	names, net, err := readModulesDep(filepath.Join(dir, "modules.dep"))
	if os.IsNotExist(err) {
		return "network drivers: no kernel modules for " + filepath.Base(dir), nil
	}
	if err != nil {
		return "", err
	}
	prober, err := kmodule.NewProber(kmodule.ProbeOpts{})
	if err != nil {
		return "", fmt.Errorf("kernel modules in %s: %w", dir, err)
	}
	absent := pciAbsent(filepath.Join(dir, "modules.alias"), "/sys/bus/pci/devices")
	b.kmods = &kmods{dir: dir, prober: prober, names: names, net: net, absent: absent}
	want, left := b.kmods.want(true)
	n, err := b.probe(want)
	return fmt.Sprintf("network drivers: %d kernel modules loaded%s", n, left), err
}

// want returns the network drivers (net) or the other modules, less the PCI
// drivers with no device, and a note of those left out.
func (k *kmods) want(net bool) (names []string, note string) {
	var out []string
	for _, n := range k.names {
		switch {
		case k.net[n] != net:
		case k.absent[n]:
			out = append(out, n)
		default:
			names = append(names, n)
		}
	}
	if len(out) > 0 {
		note = fmt.Sprintf(", %d without a device left out (%s)", len(out), strings.Join(out, " "))
	}
	return names, note
}

// loadModules loads the other kernel modules (a task, beside the network).
func (b *boot) loadModules() (string, error) {
	if b.kmods == nil {
		return "no kernel modules", nil
	}
	want, left := b.kmods.want(false)
	n, err := b.probe(want)
	return fmt.Sprintf("loaded %d kernel modules%s", n, left), err
}

// probe loads the named modules at once, each after its dependencies (the
// prober loads a module shared by two once), and returns how many loaded. A
// module that fails is logged, and fails the boot if it is required.
func (b *boot) probe(names []string) (int, error) {
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.Now()
			errs[i] = b.kmods.prober.Probe(name, "")
			b.debugf("kernel module %s: %v in %s", name, errs[i], seconds(time.Since(t)))
		}()
	}
	wg.Wait()
	loaded := 0
	for i, name := range names {
		switch {
		case errs[i] == nil:
			loaded++
		case required[name]:
			return loaded, fmt.Errorf("kernel module %s: %w", name, errs[i])
		default:
			b.logf("kernel module %s: %v (going on)", name, errs[i])
		}
	}
	return loaded, nil
}

// readModulesDep returns the names of the modules in a modules.dep file, in
// its order ("kernel/fs/overlayfs/overlay.ko: ..." gives "overlay"), and
// which of them are network drivers (see netDriverDirs).
func readModulesDep(depFile string) (names []string, net map[string]bool, err error) {
	f, err := os.Open(depFile)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	net = map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		path, _, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		name := moduleName(path)
		names = append(names, name)
		for _, d := range netDriverDirs {
			if strings.HasPrefix(path, d) {
				net[name] = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", depFile, err)
	}
	return names, net, nil
}

// moduleName turns a module file path into the module's name.
func moduleName(path string) string {
	base := filepath.Base(path)
	if i := strings.Index(base, ".ko"); i >= 0 {
		base = base[:i]
	}
	return strings.ReplaceAll(base, "-", "_")
}
