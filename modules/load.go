package modules

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is a fault in a module file, at a line: "dir/console.yaml:3: unknown key "foo"".
type Error struct {
	File string // the module file, as Load found it: filepath.Join(dir, NAME.yaml)
	Line int    // 1-based
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// parsed is a module file with the lines of its keys, for error messages.
type parsed struct {
	m     *Module
	stem  string         // the file name without .yaml/.yml
	lines map[string]int // "name", "from.dir", "files[0]", "files[0].src" → line
	root  int            // line of the document's mapping
}

// errorf returns an Error at the line of key (a path like "files[1].mode"),
// or at the document's line when the key is absent.
func (p *parsed) errorf(key, format string, args ...any) error {
	line, ok := p.lines[key]
	if !ok {
		line = p.root
	}
	return &Error{File: p.m.Path, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Load reads every *.yaml and *.yml file directly in dir (not recursively) as
// one Module and checks the hierarchy they make. All faults are reported at
// once (errors.Join), each as an *Error naming the file and the line.
func Load(dir string) (*Hierarchy, error) {
	dir = filepath.Clean(dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("hierarchy %s: %w", dir, err)
	}
	var errs []error
	byName := map[string]*parsed{}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		p, perrs := parseFile(dir, e.Name())
		errs = append(errs, perrs...)
		if p == nil {
			continue
		}
		errs = append(errs, p.check()...)
		if p.m.Name == "" {
			continue
		}
		if prev, ok := byName[p.m.Name]; ok {
			errs = append(errs, p.errorf("name", "duplicate module name %q: also in %s:%d",
				p.m.Name, prev.m.Path, prev.lines["name"]))
			continue
		}
		byName[p.m.Name] = p
	}
	if len(byName) == 0 && len(errs) == 0 {
		return nil, fmt.Errorf("hierarchy %s: no module files (*.yaml, *.yml)", dir)
	}
	errs = append(errs, checkParents(byName)...)
	if len(errs) == 0 {
		errs = append(errs, checkArches(byName)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	h := &Hierarchy{Dir: dir, Modules: map[string]*Module{}}
	for name, p := range byName {
		h.Modules[name] = p.m
	}
	return h, nil
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// lineError turns a yaml.v3 message ("yaml: line 3: …" or "line 3: …") into an Error.
func lineError(path, msg string) error {
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &Error{File: path, Line: n, Msg: m[2]}
	}
	return &Error{File: path, Line: 1, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// parseFile reads one module file. It returns nil when the file cannot be
// read as a mapping at all.
func parseFile(dir, base string) (*parsed, []error) {
	path := filepath.Join(dir, base)
	f, err := os.Open(path)
	if err != nil {
		return nil, []error{&Error{File: path, Line: 1, Msg: err.Error()}}
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, []error{&Error{File: path, Line: 1, Msg: "empty module file: want at least name: and parent: (or bootstrap: or from:)"}}
		}
		return nil, []error{lineError(path, err.Error())}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, []error{&Error{File: path, Line: extra.Line, Msg: "more than one YAML document: a module file holds one module"}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, []error{&Error{File: path, Line: root.Line, Msg: "want a mapping of keys (name:, parent:, …)"}}
	}
	p := &parsed{
		m:     &Module{Path: path, Dir: dir},
		stem:  strings.TrimSuffix(base, filepath.Ext(base)),
		lines: map[string]int{},
		root:  root.Line,
	}
	p.m.Lines = p.lines
	var errs []error
	p.walk(root, reflect.TypeOf(Module{}), "", &errs)
	if err := root.Decode(p.m); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, msg := range te.Errors {
				errs = append(errs, p.keyed(lineError(path, msg)))
			}
		} else {
			errs = append(errs, lineError(path, err.Error()))
		}
	}
	return p, errs
}

// keyed prefixes a type error's message with the key at its line, when there is one.
func (p *parsed) keyed(err error) error {
	e, ok := err.(*Error)
	if !ok {
		return err
	}
	key := ""
	for k, line := range p.lines {
		if line == e.Line && len(k) > len(key) {
			key = k
		}
	}
	if key != "" {
		e.Msg = key + ": " + e.Msg
	}
	return e
}

// walk records the line of every key and sequence item under n and reports
// keys that the Go type t has no field for.
func (p *parsed) walk(n *yaml.Node, t reflect.Type, path string, errs *[]error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields, names := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			kp := k.Value
			if path != "" {
				kp = path + "." + k.Value
			}
			if _, seen := p.lines[kp]; !seen {
				p.lines[kp] = k.Line
			}
			ft, ok := fields[k.Value]
			if !ok {
				where := ""
				if path != "" {
					where = " in " + path
				}
				*errs = append(*errs, &Error{File: p.m.Path, Line: k.Line,
					Msg: fmt.Sprintf("unknown key %q%s (known: %s)", k.Value, where, strings.Join(names, ", "))})
				continue
			}
			p.walk(v, ft, kp, errs)
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, item := range n.Content {
			ip := fmt.Sprintf("%s[%d]", path, i)
			p.lines[ip] = item.Line
			p.walk(item, t.Elem(), ip, errs)
		}
	}
	// Other shapes are type errors, which Decode reports with their line.
}

// yamlFields maps the yaml names of struct t's fields to their types, and
// lists the names in declaration order.
func yamlFields(t reflect.Type) (map[string]reflect.Type, []string) {
	fields := map[string]reflect.Type{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
		names = append(names, name)
	}
	return fields, names
}

// checkParents reports unknown parents and parent cycles across the hierarchy.
func checkParents(byName map[string]*parsed) []error {
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		p := byName[n]
		if par := p.m.Parent; par != "" {
			if _, ok := byName[par]; !ok {
				errs = append(errs, p.errorf("parent", "unknown parent %q (modules: %s)", par, strings.Join(names, ", ")))
			}
		}
	}
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	for _, start := range names {
		var path []string
		n := start
		for n != "" && state[n] == unseen {
			p, ok := byName[n]
			if !ok {
				break
			}
			state[n] = onPath
			path = append(path, n)
			n = p.m.Parent
		}
		if n != "" && state[n] == onPath { // the walk came back to itself: a cycle
			i := 0
			for path[i] != n {
				i++
			}
			cycle := path[i:]
			first := cycle[0]
			for _, c := range cycle {
				if c < first {
					first = c
				}
			}
			errs = append(errs, byName[first].errorf("parent", "parent cycle: %s → %s",
				strings.Join(rotate(cycle, first), " → "), first))
		}
		for _, c := range path {
			state[c] = done
		}
	}
	return errs
}

// rotate returns cycle starting at first.
func rotate(cycle []string, first string) []string {
	for i, c := range cycle {
		if c == first {
			return append(append([]string{}, cycle[i:]...), cycle[:i]...)
		}
	}
	return cycle
}
