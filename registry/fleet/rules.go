package fleet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is a fault in a site file, at a line: "site.yaml:7: rule web: …".
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Finder resolves the chain a rule names ("REPO:TAG", "REPO@DIGEST", a bare
// tag) to its repository and tag or digest; *store.Store is one.
type Finder interface {
	Find(name string) (repo, ref string, err error)
}

// Rules is a loaded site file: its rules, checked, most specific first.
type Rules struct {
	File  string     `json:"-"`
	Rules []*Rule    `json:"rules"`
	index *ruleIndex // Match's shortcut to the rules a machine may match
}

// Rule says which machines it selects and how they boot.
type Rule struct {
	Name  string `yaml:"name" json:"name"`
	Match *Match `yaml:"match" json:"match,omitempty"` // nil: the default rule
	// Chain is what the machines boot: REPO:TAG, REPO@DIGEST or a tag of
	// the store; Local boots them from their own disk (iPXE exit) instead.
	Chain    string            `yaml:"chain" json:"chain,omitempty"`
	Local    bool              `yaml:"local" json:"local,omitempty"`
	Args     string            `yaml:"args" json:"args,omitempty"`         // more kernel command line
	Load     string            `yaml:"load" json:"load,omitempty"`         // mode.load
	NoLoad   string            `yaml:"noload" json:"noload,omitempty"`     // mode.noload
	Hostname string            `yaml:"hostname" json:"hostname,omitempty"` // literal or template: node-{mac}
	Metadata map[string]string `yaml:"metadata" json:"metadata,omitempty"` // mode.meta.KEY=VALUE
	SSHKeys  []string          `yaml:"ssh_keys" json:"ssh_keys,omitempty"` // authorized keys: machine.json, NoCloud user-data
	Install  *Install          `yaml:"install" json:"install,omitempty"`   // the disk of install actions
	// Kernel is the chain whose kernel and initramfs the machines boot
	// (REPO:TAG, REPO@DIGEST or a tag); "": the chain's own, else the server's.
	Kernel string `yaml:"kernel" json:"kernel,omitempty"`

	Line       int    `yaml:"-" json:"line"`
	Repo       string `yaml:"-" json:"repo,omitempty"`        // Chain resolved in the store
	Ref        string `yaml:"-" json:"ref,omitempty"`         // its tag or digest
	KernelRepo string `yaml:"-" json:"kernel_repo,omitempty"` // Kernel resolved in the store
	KernelRef  string `yaml:"-" json:"kernel_ref,omitempty"`
	Level      Level  `yaml:"-" json:"level"`

	conds []cond
}

// Match selects machines: every selector given must hold.
type Match struct {
	MAC      string            `yaml:"mac" json:"mac,omitempty"`
	UUID     string            `yaml:"uuid" json:"uuid,omitempty"`
	Serial   string            `yaml:"serial" json:"serial,omitempty"`
	Hostname string            `yaml:"hostname" json:"hostname,omitempty"` // a glob: web-*
	Facts    map[string]string `yaml:"facts" json:"facts,omitempty"`       // memory: ">= 8GiB"
}

// Level is how specific a rule is: its most specific selector. A machine
// boots by the matching rule of the highest level, then of the most
// selectors; two rules equal in both that could match one machine are an
// error of the file.
type Level int

// Levels, least specific first.
const (
	LevelDefault Level = iota
	LevelHostname
	LevelFacts
	LevelSerial
	LevelUUID
	LevelMAC
)

func (l Level) String() string {
	return [...]string{"default", "hostname", "facts", "serial", "uuid", "mac"}[l]
}

// UnmarshalText reads a level's name.
func (l *Level) UnmarshalText(b []byte) error {
	for i := LevelDefault; i <= LevelMAC; i++ {
		if i.String() == string(b) {
			*l = i
			return nil
		}
	}
	return fmt.Errorf("level %q: unknown", b)
}

// MarshalText writes the level's name.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

var (
	ruleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	metaKey  = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
	hostTmpl = regexp.MustCompile(`^([a-z0-9-]|\{(mac|uuid|serial)\})+$`)
	uuidRE   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// Load reads and checks the site file: every rule's selectors, the chain it
// names (in the store, through f; nil skips that check), and that no two
// rules tie. Every fault is an *Error naming the file and line; Load returns
// them all, joined.
func Load(file string, f Finder) (*Rules, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return Parse(file, data, f)
}

// Parse is Load of data read from file.
func Parse(file string, data []byte, f Finder) (*Rules, error) {
	var doc struct {
		Rules []*Rule `yaml:"rules"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(file, err)
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	lines := ruleLines(&root)
	rs := &Rules{File: file}
	var errs []error
	for i, r := range doc.Rules {
		line := 1
		if i < len(lines) {
			line = lines[i]
		}
		if r == nil {
			errs = append(errs, &Error{File: file, Line: line, Msg: "an empty rule"})
			continue
		}
		r.Line = line
		if err := r.check(f); err != nil {
			errs = append(errs, &Error{File: file, Line: r.Line, Msg: err.Error()})
			continue
		}
		rs.Rules = append(rs.Rules, r)
	}
	if len(doc.Rules) == 0 {
		errs = append(errs, &Error{File: file, Line: 1, Msg: "no rules: want rules: [{name: default, chain: REPO:TAG}, …]"})
	}
	sortRules(rs.Rules)
	names := map[string]int{}
	peers := tieGroups(rs.Rules)
	for i, a := range rs.Rules {
		if l, ok := names[a.Name]; ok {
			errs = append(errs, &Error{File: file, Line: a.Line, Msg: fmt.Sprintf("rule %s: a rule of that name is at line %d", a.Name, l)})
		}
		names[a.Name] = a.Line
		for _, j := range peers[i] {
			if b := rs.Rules[j]; !disjoint(a, b) {
				first, second := a, b
				if b.Line < a.Line {
					first, second = b, a
				}
				errs = append(errs, &Error{File: file, Line: second.Line, Msg: fmt.Sprintf(
					"rule %s ties with rule %s (line %d): both are %s rules with %d selectors and one machine could match both; make one more specific or their selectors exclusive",
					second.Name, first.Name, first.Line, a.Level, len(a.conds))})
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	rs.index = indexRules(rs.Rules)
	return rs, nil
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

func yamlError(file string, err error) error {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: n, Msg: m[2]}
	}
	return &Error{File: file, Line: 1, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// ruleLines are the lines of the items of rules:.
func ruleLines(root *yaml.Node) []int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "rules" {
			var out []int
			for _, item := range n.Content[i+1].Content {
				out = append(out, item.Line)
			}
			return out
		}
	}
	return nil
}

// check checks one rule and fills in its level, conditions and chain.
func (r *Rule) check(f Finder) error {
	if !ruleName.MatchString(r.Name) {
		return fmt.Errorf("rule name %q: want letters, digits, '.', '_', '-' (at most 64)", r.Name)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("rule %s: %s", r.Name, fmt.Sprintf(format, args...))
	}
	switch {
	case r.Local && r.Chain != "":
		return bad("chain and local exclude each other")
	case !r.Local && r.Chain == "":
		return bad("no chain: want chain: REPO:TAG (or local: true)")
	}
	for name, v := range map[string]string{"load": r.Load, "noload": r.NoLoad} {
		if v == "" {
			continue
		}
		if _, err := regexp.Compile(v); err != nil {
			return bad("%s %q: %v", name, v, err)
		}
		if strings.ContainsAny(v, " \t\"") {
			return bad("%s %q: no spaces or quotes on a kernel command line", name, v)
		}
	}
	if err := kernelText(r.Args); err != nil {
		return bad("args: %v", err)
	}
	if r.Hostname != "" && !hostTmpl.MatchString(r.Hostname) || len(r.Hostname) > 63 {
		return bad("hostname %q: want lower-case letters, digits and '-', with {mac}, {uuid} or {serial}", r.Hostname)
	}
	for k, v := range r.Metadata {
		if !metaKey.MatchString(k) {
			return bad("metadata key %q: want [a-z0-9_], at most 32", k)
		}
		if err := kernelText(v); err != nil || strings.ContainsAny(v, " \t") || len(v) > 128 {
			return bad("metadata %s=%q: want at most 128 characters, no spaces or quotes", k, v)
		}
	}
	if err := checkSSHKeys(r.SSHKeys); err != nil {
		return bad("%v", err)
	}
	if err := r.checkMatch(); err != nil {
		return bad("%v", err)
	}
	if r.Install != nil {
		if _, err := r.Install.Selector(); err != nil {
			return bad("%v", err)
		}
	}
	if err := r.checkAuto(); err != nil {
		return bad("%v", err)
	}
	if r.Kernel != "" && r.Local {
		return bad("kernel and local exclude each other")
	}
	var err error
	if r.Repo, r.Ref, err = find(f, "chain", r.Chain); err != nil {
		return bad("%v", err)
	}
	if r.KernelRepo, r.KernelRef, err = find(f, "kernel", r.Kernel); err != nil {
		return bad("%v", err)
	}
	return nil
}

// find resolves the chain name (the rule's field what) in the store of f;
// "" for none, or when there is no store to look in.
func find(f Finder, what, name string) (repo, ref string, err error) {
	if name == "" || f == nil {
		return "", "", nil
	}
	repo, ref, err = f.Find(name)
	if err != nil && !strings.Contains(err.Error(), name) {
		err = fmt.Errorf("%s %s: %w", what, name, err)
	}
	return repo, ref, err
}

// checkMatch checks the selectors and fills in the level and conditions.
func (r *Rule) checkMatch() error {
	bad := fmt.Errorf
	if r.Match == nil {
		r.Level = LevelDefault
		return nil
	}
	m := r.Match
	if m.MAC != "" {
		hw, err := net.ParseMAC(m.MAC)
		if err != nil || len(hw) != 6 {
			return bad("mac %q: want six hex bytes, 52:54:00:12:34:56", m.MAC)
		}
		m.MAC = hw.String()
		r.conds = append(r.conds, cond{key: "mac", text: m.MAC, exact: true})
		r.Level = max(r.Level, LevelMAC)
	}
	if m.UUID != "" {
		m.UUID = strings.ToLower(m.UUID)
		if !uuidRE.MatchString(m.UUID) {
			return bad("uuid %q: want 8-4-4-4-12 hex digits", m.UUID)
		}
		r.conds = append(r.conds, cond{key: "uuid", text: m.UUID, exact: true})
		r.Level = max(r.Level, LevelUUID)
	}
	if m.Serial != "" {
		r.conds = append(r.conds, cond{key: "serial", text: m.Serial, exact: true})
		r.Level = max(r.Level, LevelSerial)
	}
	if m.Hostname != "" {
		c, err := globCond("hostname", m.Hostname)
		if err != nil {
			return err
		}
		r.conds = append(r.conds, c)
		r.Level = max(r.Level, LevelHostname)
	}
	for _, k := range sortedKeys(m.Facts) {
		c, err := factCond(k, m.Facts[k])
		if err != nil {
			return bad("facts: %v", err)
		}
		r.conds = append(r.conds, c)
		r.Level = max(r.Level, LevelFacts)
	}
	if len(r.conds) == 0 {
		return bad("match selects nothing: give mac, uuid, serial, hostname or facts (or leave match out for the default rule)")
	}
	return nil
}

// kernelText refuses what cannot go on an iPXE kernel line: control
// characters (a line break would end the line), quotes.
func kernelText(s string) error {
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == '"' || c == '\'' {
			return fmt.Errorf("%q: control characters and quotes are not allowed", s)
		}
	}
	if len(s) > 1024 {
		return fmt.Errorf("%d bytes: at most 1024", len(s))
	}
	return nil
}
