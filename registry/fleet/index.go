package fleet

import (
	"slices"
	"strings"
)

// ruleIndex finds the rules a machine may match without trying every rule:
// a rule with an exact MAC, UUID or serial selector can match only the
// machine that has that value, so it is listed under the value; the other
// rules (host name, facts, the default) are tried for every machine. The
// lists hold positions in the sorted rules, ascending, so that merging them
// keeps "most specific first".
type ruleIndex struct {
	byKey map[string]map[string][]int // "mac", "uuid", "serial" → value → rules
	rest  []int
	auto  bool // some rule installs by itself (autoinstall.go)
}

// indexKeys are the selectors indexed, most specific first.
var indexKeys = []string{"mac", "uuid", "serial"}

func indexRules(rs []*Rule) *ruleIndex {
	x := &ruleIndex{byKey: map[string]map[string][]int{}}
	for _, k := range indexKeys {
		x.byKey[k] = map[string][]int{}
	}
	for i, r := range rs {
		x.auto = x.auto || r.Install != nil && r.Install.Auto
		if c, ok := exactKey(r); ok {
			x.byKey[c.key][c.text] = append(x.byKey[c.key][c.text], i)
		} else {
			x.rest = append(x.rest, i)
		}
	}
	return x
}

// exactKey is r's exact MAC, UUID or serial selector (the first of them),
// if it has one.
func exactKey(r *Rule) (cond, bool) {
	for _, k := range indexKeys {
		for _, c := range r.conds {
			if c.key == k && c.exact && !strings.ContainsAny(c.text, `*?[\`) { // a serial may be a glob
				return c, true
			}
		}
	}
	return cond{}, false
}

// candidates are the positions of the rules m may match, ascending: those
// listed under m's MAC, UUID and serial (the values matches compares), and
// the rest.
func (x *ruleIndex) candidates(m Machine) []int {
	var uuid, serial string
	if m.Facts != nil {
		uuid, serial = m.Facts.UUID, m.Facts.Serial
	}
	vals := map[string]string{"mac": m.MAC, "uuid": firstOf(strings.ToLower(m.UUID), uuid), "serial": firstOf(m.Serial, serial)}
	out := slices.Clone(x.rest)
	for _, k := range indexKeys {
		out = append(out, x.byKey[k][vals[k]]...)
	}
	slices.Sort(out)
	return out
}

// tieGroups lists, for each rule, the later rules that could tie with it:
// those of the same level and number of selectors, and, for MAC, UUID and
// serial rules, the same value of that selector (rules with different exact
// values of one selector never match one machine: disjoint says so too).
func tieGroups(rs []*Rule) [][]int {
	type group struct {
		level   Level
		n       int
		key, at string
	}
	groups := map[group][]int{}
	peers := make([][]int, len(rs))
	for j, r := range rs {
		g := group{level: r.Level, n: len(r.conds)}
		for _, c := range r.conds {
			if c.exact && c.key == map[Level]string{LevelMAC: "mac", LevelUUID: "uuid", LevelSerial: "serial"}[r.Level] {
				g.key, g.at = c.key, c.text
				break
			}
		}
		for _, i := range groups[g] {
			peers[i] = append(peers[i], j)
		}
		groups[g] = append(groups[g], j)
	}
	return peers
}
