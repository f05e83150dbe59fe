package debian

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mode-build/mode/layers"
)

// StatusFile is where dpkg keeps its database, relative to a root.
const StatusFile = "var/lib/dpkg/status"

// Installed maps "name:arch" to the version of every package dpkg reports as
// installed ("install ok installed", or any want with status "installed").
type Installed map[string]string

// ParseStatus reads a dpkg status file (RFC 822-like stanzas separated by blank
// lines) and returns the installed packages. Packages whose status is not
// "installed" (config-files, half-installed, unpacked, not-installed) are left
// out: they are not part of a working system.
func ParseStatus(r io.Reader) (Installed, error) {
	out := Installed{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	var name, arch, version, status string
	line, start := 0, 0
	flush := func() error {
		if name == "" && status == "" && version == "" {
			return nil
		}
		if name == "" {
			return fmt.Errorf("line %d: stanza without Package", start)
		}
		if fields := strings.Fields(status); len(fields) == 3 && fields[2] == "installed" {
			if version == "" {
				return fmt.Errorf("line %d: package %s: installed without Version", start, name)
			}
			out[key(name, arch)] = version
		}
		name, arch, version, status = "", "", "", ""
		return nil
	}
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.TrimSpace(text) == "" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		if text[0] == ' ' || text[0] == '\t' {
			continue // continuation of a multi-line field (Description, Conffiles)
		}
		if name == "" && status == "" && version == "" {
			start = line
		}
		field, value, ok := strings.Cut(text, ":")
		if !ok {
			return nil, fmt.Errorf("line %d: %q is not a field", line, text)
		}
		value = strings.TrimSpace(value)
		switch field {
		case "Package":
			name = value
		case "Architecture":
			arch = value
		case "Version":
			version = value
		case "Status":
			status = value
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

func key(name, arch string) string {
	if arch == "" {
		return name
	}
	return name + ":" + arch
}

// ReadStatus returns the installed packages of the root tree at root. An empty
// root, or a root without a dpkg database, has none.
func ReadStatus(root string) (Installed, error) {
	if root == "" {
		return Installed{}, nil
	}
	path := filepath.Join(root, StatusFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Installed{}, nil
	}
	if err != nil {
		return nil, err
	}
	inst, err := ParseStatus(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return inst, nil
}

// Diff returns what changed from before to after: packages added, removed and
// upgraded (or downgraded: any change of version), each sorted by name. A
// package is named without its architecture unless the same name appears with
// more than one architecture.
func Diff(before, after Installed) *layers.Packages {
	multi := multiArch(before, after)
	p := &layers.Packages{}
	for k, v := range after {
		old, ok := before[k]
		switch {
		case !ok:
			p.Added = append(p.Added, layers.Package{Name: display(k, multi), Version: v})
		case old != v:
			p.Upgraded = append(p.Upgraded, layers.Package{Name: display(k, multi), Version: v, From: old})
		}
	}
	for k, v := range before {
		if _, ok := after[k]; !ok {
			p.Removed = append(p.Removed, layers.Package{Name: display(k, multi), Version: v})
		}
	}
	for _, l := range [][]layers.Package{p.Added, p.Removed, p.Upgraded} {
		sort.Slice(l, func(i, j int) bool { return l[i].Name < l[j].Name })
	}
	return p
}

// multiArch returns the names that appear with more than one architecture.
func multiArch(sets ...Installed) map[string]bool {
	arches := map[string]map[string]bool{}
	for _, s := range sets {
		for k := range s {
			name, arch, _ := strings.Cut(k, ":")
			if arches[name] == nil {
				arches[name] = map[string]bool{}
			}
			arches[name][arch] = true
		}
	}
	multi := map[string]bool{}
	for name, a := range arches {
		if len(a) > 1 {
			multi[name] = true
		}
	}
	return multi
}

func display(k string, multi map[string]bool) string {
	name, _, _ := strings.Cut(k, ":")
	if multi[name] {
		return k
	}
	return name
}

// Names returns the package names of inst ("name:arch" keys), sorted.
func (inst Installed) Names() []string {
	names := make([]string, 0, len(inst))
	for k := range inst {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
