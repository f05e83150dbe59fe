package activate

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// StatusFile is dpkg's database of installed packages, relative to a root.
const StatusFile = "var/lib/dpkg/status"

// Status is a dpkg status file as stanzas in file order, keyed by
// "package:architecture" (dpkg's own key for a package instance).
type Status struct {
	keys    []string
	stanzas map[string]string
}

// ParseStatus reads a dpkg status file. An empty file is an empty status.
func ParseStatus(data []byte) (*Status, error) {
	s := &Status{stanzas: map[string]string{}}
	for i, block := range bytes.Split(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\n\n")) {
		st := strings.Trim(string(block), "\n")
		if st == "" {
			continue
		}
		k := stanzaKey(st)
		if k == "" {
			return nil, fmt.Errorf("stanza %d: no Package field", i+1)
		}
		if _, dup := s.stanzas[k]; !dup {
			s.keys = append(s.keys, k)
		}
		s.stanzas[k] = st
	}
	return s, nil
}

func stanzaKey(st string) string {
	var pkg, arch string
	for _, line := range strings.Split(st, "\n") {
		if v, ok := strings.CutPrefix(line, "Package:"); ok {
			pkg = strings.TrimSpace(v)
		} else if v, ok := strings.CutPrefix(line, "Architecture:"); ok {
			arch = strings.TrimSpace(v)
		}
	}
	if pkg == "" {
		return ""
	}
	return pkg + ":" + arch
}

// Bytes writes s back as dpkg does: stanzas sorted by package name, then
// architecture, each followed by a blank line. A module's merged status is
// then byte for byte the status dpkg wrote in the module.
func (s *Status) Bytes() []byte {
	keys := append([]string(nil), s.keys...)
	sort.SliceStable(keys, func(i, j int) bool {
		ni, ai, _ := strings.Cut(keys[i], ":")
		nj, aj, _ := strings.Cut(keys[j], ":")
		if ni != nj {
			return ni < nj
		}
		return ai < aj
	})
	var b bytes.Buffer
	for _, k := range keys {
		b.WriteString(s.stanzas[k])
		b.WriteString("\n\n")
	}
	return b.Bytes()
}

// Has reports whether the package instance key ("name:arch") is in s.
func (s *Status) Has(key string) bool { _, ok := s.stanzas[key]; return ok }

// Names returns the keys of s in file order.
func (s *Status) Names() []string { return append([]string(nil), s.keys...) }

func (s *Status) set(k, st string) {
	if _, ok := s.stanzas[k]; !ok {
		s.keys = append(s.keys, k)
	}
	s.stanzas[k] = st
}

func (s *Status) del(k string) {
	if _, ok := s.stanzas[k]; !ok {
		return
	}
	delete(s.stanzas, k)
	for i, x := range s.keys {
		if x == k {
			s.keys = append(s.keys[:i], s.keys[i+1:]...)
			break
		}
	}
}

// Diff is what a module did to dpkg's status: stanzas it added or changed
// (Set, with the parent's version of a changed one in Was) and stanzas it
// removed (Removed, the parent's version).
type Diff struct {
	Set     map[string]string
	setKeys []string
	Was     map[string]string
	Removed map[string]string
	remKeys []string
}

// Empty reports whether the module left the status as its parent had it.
func (d Diff) Empty() bool { return len(d.Set) == 0 && len(d.Removed) == 0 }

// DiffStatus compares a module's status with its parent's.
func DiffStatus(parent, module *Status) Diff {
	d := Diff{Set: map[string]string{}, Was: map[string]string{}, Removed: map[string]string{}}
	for _, k := range module.keys {
		was, ok := parent.stanzas[k]
		if ok && was == module.stanzas[k] {
			continue
		}
		d.Set[k] = module.stanzas[k]
		d.setKeys = append(d.setKeys, k)
		if ok {
			d.Was[k] = was
		}
	}
	for _, k := range parent.keys {
		if !module.Has(k) {
			d.Removed[k] = parent.stanzas[k]
			d.remKeys = append(d.remKeys, k)
		}
	}
	return d
}

// Apply does d to s: what activating the module means for the status.
func (s *Status) Apply(d Diff) {
	for _, k := range d.setKeys {
		s.set(k, d.Set[k])
	}
	for _, k := range d.remKeys {
		s.del(k)
	}
}

// Revert undoes d in s, as far as s still shows what d did: a stanza the
// module set is restored to the parent's (or dropped when the parent had
// none) only if it is still the module's, and a removed one comes back only
// if still absent. It returns the keys left alone because they changed since
// (a package upgraded or removed after activation).
func (s *Status) Revert(d Diff) (changed []string) {
	for _, k := range d.setKeys {
		cur, ok := s.stanzas[k]
		switch {
		case !ok || cur != d.Set[k]:
			changed = append(changed, k)
		case d.Was[k] != "":
			s.set(k, d.Was[k])
		default:
			s.del(k)
		}
	}
	for _, k := range d.remKeys {
		if s.Has(k) {
			changed = append(changed, k)
			continue
		}
		s.set(k, d.Removed[k])
	}
	return changed
}

// Keys returns the package instances d adds, changes or removes.
func (d Diff) Keys() map[string]bool {
	out := map[string]bool{}
	for k := range d.Set {
		out[k] = true
	}
	for k := range d.Removed {
		out[k] = true
	}
	return out
}

// Reapply does again what d does, to the keys in only: for a module still
// active, after another module's Revert touched packages both have (two
// modules on one parent that both install a library).
func (s *Status) Reapply(d Diff, only map[string]bool) {
	for _, k := range d.setKeys {
		if only[k] {
			s.set(k, d.Set[k])
		}
	}
	for _, k := range d.remKeys {
		if only[k] {
			s.del(k)
		}
	}
}
