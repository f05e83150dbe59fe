package flagfile

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v3"
	"gopkg.in/yaml.v3"
)

// Apply reads the YAML mapping in file and sets each flag of c it names,
// unless the command line (or the flag's environment variable) set it already.
// A key is a flag's name or alias; a list sets a repeatable flag once per
// item. skip names flags the file may not set (such as the one naming it).
// Errors name the file, the line and the key.
func Apply(c *cli.Command, file string, skip ...string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	settings, err := Parse(file, data, c.Flags, skip...)
	if err != nil {
		return err
	}
	for _, s := range settings {
		if c.IsSet(s.Flag) {
			continue
		}
		for _, v := range s.Values {
			if err := c.Set(s.Flag, v); err != nil {
				return fmt.Errorf("%s:%d: %s: bad value %q: %v", file, s.Line, s.Key, v, unwrapParse(err))
			}
		}
	}
	return nil
}

// A Setting is one key of the file: the flag it sets and its values as they
// would be typed on the command line.
type Setting struct {
	Key    string
	Flag   string // the flag's name (the key may be an alias)
	Line   int
	Values []string
}

// Parse reads the YAML mapping data (of file, for messages) into settings of
// flags, refusing keys that are no flag of flags (or are in skip), a key
// given twice, and values that are neither a scalar nor, for a repeatable
// flag, a list of scalars. It checks no value: Apply does, by setting it.
func Parse(file string, data []byte, flags []cli.Flag, skip ...string) ([]Setting, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if err.Error() == "EOF" {
			return nil, nil // an empty file sets nothing
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil // only comments
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: want a mapping of flag names to values", file, root.Line)
	}
	var out []Setting
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		key := k.Value
		f := lookup(flags, key)
		if f == nil || slices.Contains(skip, f.Names()[0]) {
			return nil, fmt.Errorf("%s:%d: unknown key %q (the keys are the flags: %s)", file, k.Line, key, strings.Join(names(flags, skip), ", "))
		}
		name := f.Names()[0]
		if line, dup := seen[name]; dup {
			return nil, fmt.Errorf("%s:%d: %s: given again (first on line %d)", file, k.Line, key, line)
		}
		seen[name] = k.Line
		s := Setting{Key: key, Flag: name, Line: k.Line}
		switch {
		case v.Kind == yaml.ScalarNode && v.Tag != "!!null":
			s.Values = []string{v.Value}
		case v.Kind == yaml.SequenceNode && multi(f):
			for _, item := range v.Content {
				if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
					return nil, fmt.Errorf("%s:%d: %s: want a list of values", file, item.Line, key)
				}
				s.Values = append(s.Values, item.Value)
			}
		case v.Kind == yaml.SequenceNode:
			return nil, fmt.Errorf("%s:%d: %s: takes one value, not a list", file, v.Line, key)
		default:
			return nil, fmt.Errorf("%s:%d: %s: want a value", file, v.Line, key)
		}
		out = append(out, s)
	}
	return out, nil
}

func lookup(flags []cli.Flag, key string) cli.Flag {
	for _, f := range flags {
		if slices.Contains(f.Names(), key) {
			return f
		}
	}
	return nil
}

// names lists the keys a file may hold, for the unknown-key message.
func names(flags []cli.Flag, skip []string) []string {
	var out []string
	for _, f := range flags {
		if n := f.Names()[0]; n != "help" && !slices.Contains(skip, n) {
			out = append(out, n)
		}
	}
	return out
}

func multi(f cli.Flag) bool {
	m, ok := f.(cli.DocGenerationMultiValueFlag)
	return ok && m.IsMultiValueFlag()
}

// unwrapParse shortens strconv's and time's messages to their reason.
func unwrapParse(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.Contains(msg, "parsing") {
		return msg[i+2:]
	}
	return msg
}
