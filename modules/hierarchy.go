package modules

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Hierarchy is a directory of module files, as Load read and checked it.
type Hierarchy struct {
	Dir     string             // the hierarchy directory
	Modules map[string]*Module // by name

	mu   sync.Mutex
	keys map[string]map[string]string // salt and arch → name → key
}

// Names returns the module names, sorted.
func (h *Hierarchy) Names() []string {
	names := make([]string, 0, len(h.Modules))
	for n := range h.Modules {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// unknown is the error for a name that is no module of h.
func (h *Hierarchy) unknown(name string) error {
	return fmt.Errorf("unknown module %q (modules: %s)", name, strings.Join(h.Names(), ", "))
}

// Chain returns the modules from the base down to name, base first.
func (h *Hierarchy) Chain(name string) ([]*Module, error) {
	var chain []*Module
	seen := map[string]bool{}
	for n := name; n != ""; {
		m, ok := h.Modules[n]
		if !ok {
			if n == name {
				return nil, h.unknown(name)
			}
			return nil, fmt.Errorf("module %s: unknown parent %q", chain[len(chain)-1].Name, n)
		}
		if seen[n] {
			return nil, fmt.Errorf("module %s: parent cycle at %s", name, n)
		}
		seen[n] = true
		chain = append(chain, m)
		n = m.Parent
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return chain, nil
}

// ChainName joins the names of name's chain with '-': "base-essential-console".
// It is empty when name is not a module of h.
func (h *Hierarchy) ChainName(name string) string {
	chain, err := h.Chain(name)
	if err != nil {
		return ""
	}
	names := make([]string, len(chain))
	for i, m := range chain {
		names[i] = m.Name
	}
	return strings.Join(names, "-")
}

// FileName is the MoDe file name of name's layer: "base-essential-console.sqfs".
// It is empty when name is not a module of h.
func (h *Hierarchy) FileName(name string) string {
	c := h.ChainName(name)
	if c == "" {
		return ""
	}
	return c + ".sqfs"
}

// Children returns the names of the modules whose parent is name, sorted.
func (h *Hierarchy) Children(name string) []string {
	var kids []string
	for n, m := range h.Modules {
		if m.Parent == name && name != "" {
			kids = append(kids, n)
		}
	}
	sort.Strings(kids)
	return kids
}

// Roots returns the names of the base modules (no parent), sorted.
func (h *Hierarchy) Roots() []string {
	var roots []string
	for n, m := range h.Modules {
		if m.Parent == "" {
			roots = append(roots, n)
		}
	}
	sort.Strings(roots)
	return roots
}

// Plan returns the modules of the chains of the named modules (every module
// when none is named), each once, parents before children. Among modules
// whose parents are all placed, the smallest name comes first.
func (h *Hierarchy) Plan(names ...string) ([]*Module, error) {
	if len(names) == 0 {
		names = h.Names()
	}
	in := map[string]bool{}
	for _, n := range names {
		chain, err := h.Chain(n)
		if err != nil {
			return nil, err
		}
		for _, m := range chain {
			in[m.Name] = true
		}
	}
	var ready []string
	for n := range in {
		if p := h.Modules[n].Parent; p == "" || !in[p] {
			ready = append(ready, n)
		}
	}
	var plan []*Module
	for len(ready) > 0 {
		sort.Strings(ready)
		n := ready[0]
		ready = ready[1:]
		plan = append(plan, h.Modules[n])
		for _, kid := range h.Children(n) {
			if in[kid] {
				ready = append(ready, kid)
			}
		}
	}
	return plan, nil
}
