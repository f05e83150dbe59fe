package debian

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Source is one apt source: a deb822 stanza, or one line of a sources.list.
type Source struct {
	Types      []string
	URIs       []string
	Suites     []string
	Components []string
	SignedBy   string
}

// HostApt is where the host keeps its apt sources; tests point it elsewhere.
var HostApt = "/etc/apt"

// ReadSources reads the apt sources under etcApt (sources.list and
// sources.list.d/*.list, *.sources), in apt's order. Disabled stanzas
// (Enabled: no) and files with other suffixes are left out.
func ReadSources(etcApt string) ([]Source, error) {
	var out []Source
	list := filepath.Join(etcApt, "sources.list")
	if data, err := os.ReadFile(list); err == nil {
		s, err := parseOneLine(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", list, err)
		}
		out = append(out, s...)
	}
	parts, err := filepath.Glob(filepath.Join(etcApt, "sources.list.d", "*"))
	if err != nil {
		return nil, err
	}
	sort.Strings(parts)
	for _, p := range parts {
		var parse func([]byte) ([]Source, error)
		switch {
		case strings.HasSuffix(p, ".list"):
			parse = parseOneLine
		case strings.HasSuffix(p, ".sources"):
			parse = parseDeb822
		default:
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		s, err := parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, s...)
	}
	return out, nil
}

func parseOneLine(data []byte) ([]Source, error) {
	var out []Source
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		var opts string
		if i := strings.Index(line, "["); i >= 0 {
			j := strings.Index(line, "]")
			if j < i {
				return nil, fmt.Errorf("line %d: unclosed [", n)
			}
			opts, line = line[i+1:j], line[:i]+" "+line[j+1:]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 3 {
			return nil, fmt.Errorf("line %d: want TYPE URI SUITE [COMPONENT...]", n)
		}
		s := Source{Types: f[:1], URIs: f[1:2], Suites: f[2:3], Components: f[3:]}
		for _, o := range strings.Fields(opts) {
			if k, v, ok := strings.Cut(o, "="); ok && k == "signed-by" {
				s.SignedBy = v
			}
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseDeb822(data []byte) ([]Source, error) {
	var out []Source
	for n, stanza := range strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n\n") {
		fields := map[string]string{}
		last := ""
		for _, line := range strings.Split(stanza, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "#") || strings.TrimSpace(line) == "" {
				continue
			}
			if line[0] == ' ' || line[0] == '\t' {
				if last != "" { // continuation, as of an inline Signed-By key
					fields[last] += "\n" + line
				}
				continue
			}
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				return nil, fmt.Errorf("stanza %d: %q is not a field", n+1, line)
			}
			last = strings.ToLower(strings.TrimSpace(k))
			fields[last] = strings.TrimSpace(v)
		}
		if len(fields) == 0 || strings.EqualFold(fields["enabled"], "no") {
			continue
		}
		s := Source{
			Types:      strings.Fields(fields["types"]),
			URIs:       strings.Fields(fields["uris"]),
			Suites:     strings.Fields(fields["suites"]),
			Components: strings.Fields(fields["components"]),
			SignedBy:   fields["signed-by"],
		}
		if len(s.Types) == 0 || len(s.URIs) == 0 || len(s.Suites) == 0 {
			return nil, fmt.Errorf("stanza %d: want Types, URIs and Suites", n+1)
		}
		out = append(out, s)
	}
	return out, nil
}

// symbolic suites name a Debian release without its code name.
var symbolic = map[string]bool{"stable": true, "testing": true, "unstable": true,
	"oldstable": true, "oldoldstable": true, "sid": true, "experimental": true}

// noUpdates are suites that have no -updates or -security companions.
var noUpdates = map[string]bool{"unstable": true, "sid": true, "experimental": true}

// ForSuite turns the host's Debian sources into sources for suite: each host
// entry whose suite is the host's release (codename, e.g. bookworm, or a
// symbolic name) or one of its companions (bookworm-updates,
// bookworm-security) is kept with its mirror and renamed to suite
// (trixie-updates…). Entries for other archives (third-party repositories)
// are left out. components, when given, replace each entry's components.
// codename is the host's release code name ("" to take it from the first
// deb entry).
func ForSuite(host []Source, codename, suite string, components []string) ([]Source, error) {
	var out []Source
	seen := map[string]bool{}
	for _, h := range host {
		if !contains(h.Types, "deb") {
			continue
		}
		for _, hs := range h.Suites {
			base, suffix, _ := strings.Cut(hs, "-")
			if codename == "" {
				codename = base
			}
			if base != codename && !symbolic[base] {
				continue
			}
			if suffix != "" && noUpdates[suite] {
				continue
			}
			s := Source{Types: []string{"deb"}, URIs: h.URIs, Suites: []string{suite}, Components: h.Components, SignedBy: h.SignedBy}
			if suffix != "" {
				s.Suites = []string{suite + "-" + suffix}
			}
			if len(components) > 0 {
				s.Components = components
			}
			if len(s.Components) == 0 {
				s.Components = []string{"main"}
			}
			id := strings.Join(s.URIs, " ") + " " + s.Suites[0]
			if !seen[id] {
				seen[id] = true
				out = append(out, s)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no Debian apt source for the host's release %q in %s (give the module a bootstrap mirror)", codename, HostApt)
	}
	return out, nil
}

// Deb822 formats sources as a deb822 sources file.
func Deb822(sources []Source) []byte {
	var b bytes.Buffer
	for i, s := range sources {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "Types: %s\nURIs: %s\nSuites: %s\nComponents: %s\n",
			strings.Join(s.Types, " "), strings.Join(s.URIs, " "),
			strings.Join(s.Suites, " "), strings.Join(s.Components, " "))
		if s.SignedBy != "" {
			fmt.Fprintf(&b, "Signed-By: %s\n", s.SignedBy)
		}
	}
	return b.Bytes()
}

// HostCodename returns VERSION_CODENAME from the host's os-release, or "".
func HostCodename() string {
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VERSION_CODENAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
