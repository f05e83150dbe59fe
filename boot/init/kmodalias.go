package modeinit

import (
	"bufio"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// pciAbsent returns the modules of an initramfs's modules.alias that drive
// PCI devices only (every alias "pci:…") and match none of the PCI devices
// under sysDir (/sys/bus/pci/devices): ena, gve or vmxnet3 on a QEMU machine.
// The kernel has enumerated the PCI bus before it runs the init, so such a
// module would load for nothing. Without modules.alias (an older initramfs)
// or a PCI bus, it returns nothing: everything loads.
func pciAbsent(aliasFile, sysDir string) map[string]bool {
	f, err := os.Open(aliasFile)
	if err != nil {
		return nil
	}
	defer f.Close()
	patterns := map[string][]string{}
	pciOnly := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 || fields[0] != "alias" {
			continue
		}
		pat, name := fields[1], fields[2]
		if _, seen := pciOnly[name]; !seen {
			pciOnly[name] = true
		}
		if !strings.HasPrefix(pat, "pci:") {
			pciOnly[name] = false
		}
		patterns[name] = append(patterns[name], pat)
	}
	if sc.Err() != nil {
		return nil
	}
	devs, _ := filepath.Glob(filepath.Join(sysDir, "*", "modalias"))
	var present []string
	for _, d := range devs {
		if b, err := os.ReadFile(d); err == nil {
			present = append(present, strings.TrimSpace(string(b)))
		}
	}
	if len(present) == 0 {
		return nil
	}
	absent := map[string]bool{}
	for name, only := range pciOnly {
		if only && !matchesAny(patterns[name], present) {
			absent[name] = true
		}
	}
	return absent
}

// matchesAny reports whether a device's modalias matches one of patterns
// (the kernel's fnmatch globs; path.Match's, as modaliases have no "/").
func matchesAny(patterns, devices []string) bool {
	for _, p := range patterns {
		for _, d := range devices {
			if ok, _ := path.Match(p, d); ok {
				return true
			}
		}
	}
	return false
}
