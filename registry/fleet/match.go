package fleet

import (
	"fmt"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/mode-build/mode/report"
)

// Machine is what the server knows of a machine when it picks its rule:
// what its boot.ipxe request said (MAC, UUID, serial, host name from DHCP)
// and the facts of its last boot report.
type Machine struct {
	MAC      string        `json:"mac"`
	UUID     string        `json:"uuid,omitempty"`
	Serial   string        `json:"serial,omitempty"`
	Hostname string        `json:"hostname,omitempty"`
	Facts    *report.Facts `json:"facts,omitempty"`
}

// cond is one selector of a rule: a text (exact, or a glob), or a range of
// numbers (fact sizes and counts).
type cond struct {
	key    string
	text   string // exact value or glob
	exact  bool
	lo, hi int64 // a number in [lo, hi]
	num    bool
	any    bool   // holds when any of several values does (disk)
	src    string // as written
}

// numFacts are the facts compared as numbers, and how their values read.
var numFacts = map[string]bool{"memory": true, "disk": true, "cpus": true, "disks": true}

// textFacts are the facts matched as globs.
var textFacts = map[string]bool{"vendor": true, "product": true, "cpu_model": true, "nic_driver": true}

func factCond(key, v string) (cond, error) {
	switch {
	case textFacts[key]:
		return globCond(key, v)
	case numFacts[key]:
		lo, hi, err := parseRange(v, key == "memory" || key == "disk")
		if err != nil {
			return cond{}, fmt.Errorf("%s %q: %v", key, v, err)
		}
		return cond{key: key, lo: lo, hi: hi, num: true, any: key == "disk", src: v}, nil
	}
	return cond{}, fmt.Errorf("unknown fact %q: want vendor, product, cpu_model, nic_driver (globs), cpus, memory, disk, disks (\">= 8GiB\")", key)
}

func globCond(key, v string) (cond, error) {
	if _, err := path.Match(v, ""); err != nil {
		return cond{}, fmt.Errorf("%s pattern %q: %v", key, v, err)
	}
	return cond{key: key, text: v, exact: !strings.ContainsAny(v, `*?[\`), any: key == "nic_driver", src: v}, nil
}

// parseRange reads "OP NUMBER[UNIT]" (OP one of >=, <=, >, <, ==, or none
// for ==) as the range of values it allows.
func parseRange(s string, size bool) (lo, hi int64, err error) {
	s = strings.TrimSpace(s)
	op := ""
	for _, o := range []string{">=", "<=", "==", ">", "<"} {
		if rest, ok := strings.CutPrefix(s, o); ok {
			op, s = o, strings.TrimSpace(rest)
			break
		}
	}
	var n int64
	if size {
		n, err = ParseSize(s)
	} else {
		n, err = strconv.ParseInt(s, 10, 64)
	}
	if err != nil {
		return 0, 0, err
	}
	switch op {
	case ">=":
		return n, math.MaxInt64, nil
	case ">":
		return n + 1, math.MaxInt64, nil
	case "<=":
		return math.MinInt64, n, nil
	case "<":
		return math.MinInt64, n - 1, nil
	}
	return n, n, nil
}

// ParseSize reads a size: a number with B, KB, MB, GB, TB (powers of 1000)
// or KiB, MiB, GiB, TiB (powers of 1024); no unit is bytes.
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	mult, ok := map[string]float64{"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
		"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}[unit]
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || f < 0 {
		return 0, fmt.Errorf("want a size such as 8GiB or 100GB")
	}
	return int64(f * mult), nil
}

// disjoint reports whether no machine can match both rules: some selector
// of one excludes the same selector of the other.
func disjoint(a, b *Rule) bool {
	for _, x := range a.conds {
		for _, y := range b.conds {
			if x.key != y.key || x.any {
				continue
			}
			if x.num && (x.hi < y.lo || y.hi < x.lo) {
				return true
			}
			if !x.num && !prefixCompatible(literalPrefix(x.text), literalPrefix(y.text)) {
				return true
			}
			if x.exact && y.exact && x.text != y.text {
				return true
			}
		}
	}
	return false
}

func literalPrefix(glob string) string {
	if i := strings.IndexAny(glob, `*?[\`); i >= 0 {
		return glob[:i]
	}
	return glob
}

func prefixCompatible(a, b string) bool { return strings.HasPrefix(a, b) || strings.HasPrefix(b, a) }

// sortRules orders rules most specific first (level, then selectors), then
// by line.
func sortRules(rs []*Rule) {
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if a.Level != b.Level {
			return a.Level > b.Level
		}
		if len(a.conds) != len(b.conds) {
			return len(a.conds) > len(b.conds)
		}
		return a.Line < b.Line
	})
}

// Match returns the rule machine m boots by, and why; nil when no rule
// matches (a file without a default rule).
func (rs *Rules) Match(m Machine) (*Rule, string) {
	if rs.index != nil {
		for _, i := range rs.index.candidates(m) {
			if why, ok := rs.Rules[i].matches(m); ok {
				return rs.Rules[i], why
			}
		}
	} else {
		for _, r := range rs.Rules {
			if why, ok := r.matches(m); ok {
				return r, why
			}
		}
	}
	return nil, "no rule matches and the site file has no default rule (a rule without match:)"
}

// matches reports whether every selector of r holds for m, and says why.
func (r *Rule) matches(m Machine) (string, bool) {
	if r.Match == nil {
		return "default: no more specific rule matched", true
	}
	f := m.Facts
	if f == nil {
		f = &report.Facts{}
	}
	var why []string
	for _, c := range r.conds {
		var vals []string
		var nums []int64
		switch c.key {
		case "mac":
			vals = []string{m.MAC}
		case "uuid":
			vals = []string{firstOf(strings.ToLower(m.UUID), f.UUID)}
		case "serial":
			vals = []string{firstOf(m.Serial, f.Serial)}
		case "hostname":
			vals = []string{m.Hostname}
		case "vendor":
			vals = []string{f.Vendor}
		case "product":
			vals = []string{f.Product}
		case "cpu_model":
			vals = []string{f.CPUModel}
		case "nic_driver":
			for _, n := range f.NICs {
				vals = append(vals, n.Driver)
			}
		case "cpus":
			nums = []int64{int64(f.CPUs)}
		case "memory":
			nums = []int64{f.MemoryBytes}
		case "disks":
			nums = []int64{int64(len(f.Disks))}
		case "disk":
			for _, d := range f.Disks {
				nums = append(nums, d.SizeBytes)
			}
		}
		hit := ""
		if c.num {
			if m.Facts == nil {
				return "", false // no facts known: no fact rule matches
			}
			for _, n := range nums {
				if n >= c.lo && n <= c.hi {
					hit = strconv.FormatInt(n, 10)
					break
				}
			}
		} else {
			for _, v := range vals {
				if ok, _ := path.Match(c.text, v); ok && v != "" {
					hit = v
					break
				}
			}
		}
		if hit == "" {
			return "", false
		}
		if c.exact {
			why = append(why, fmt.Sprintf("%s is %s", c.key, hit))
		} else {
			why = append(why, fmt.Sprintf("%s %s matches %s", c.key, hit, c.src))
		}
	}
	return fmt.Sprintf("%s rule: %s", r.Level, strings.Join(why, ", ")), true
}

// HostnameFor renders the rule's host name for m: {mac} is the MAC's hex
// digits, {uuid} and {serial} the machine's, lower case, other characters
// than letters and digits as '-'.
func (r *Rule) HostnameFor(m Machine) string {
	if r.Hostname == "" {
		return ""
	}
	clean := func(s string) string {
		return strings.Map(func(c rune) rune {
			if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' {
				return c
			}
			return '-'
		}, strings.ToLower(s))
	}
	f := m.Facts
	if f == nil {
		f = &report.Facts{}
	}
	h := strings.NewReplacer("{mac}", strings.ReplaceAll(m.MAC, ":", ""), "{uuid}", clean(firstOf(m.UUID, f.UUID)),
		"{serial}", clean(firstOf(m.Serial, f.Serial))).Replace(r.Hostname)
	if len(h) > 63 {
		h = h[:63]
	}
	return strings.Trim(h, "-")
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
