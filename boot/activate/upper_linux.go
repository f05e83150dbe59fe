package activate

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mode-build/mode/layers"
)

// statusDiff returns what the module mounted at m.Mount did to dpkg's
// status against its parent (the topmost of the booted layers it was built
// on that has one), or nil when the module has no status of its own.
func statusDiff(m Module, b *layers.Booted, runDir string, parents int) (*Diff, error) {
	mod, err := readStatusIf(filepath.Join(m.Mount, StatusFile))
	if err != nil || mod == nil {
		return nil, err
	}
	parent := &Status{stanzas: map[string]string{}}
	for i := min(parents, len(b.Layers)) - 1; i >= 0; i-- {
		p := filepath.Join(layers.LayersDir(runDir), strings.TrimSuffix(b.Layers[i].File, ".sqfs"), StatusFile)
		s, err := readStatusIf(p)
		if err != nil {
			return nil, err
		}
		if s != nil {
			parent = s
			break
		}
	}
	d := DiffStatus(parent, mod)
	return &d, nil
}

// readStatusIf parses the status file p, or returns nil when there is none.
func readStatusIf(p string) (*Status, error) {
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s, err := ParseStatus(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return s, nil
}

// readStatus parses p; a missing file is an empty status.
func readStatus(p string) (*Status, error) {
	s, err := readStatusIf(p)
	if s == nil && err == nil {
		s = &Status{stanzas: map[string]string{}}
	}
	return s, err
}

// settle makes the root's dpkg status want. When the layers already show
// exactly that (one module over its own parent: its status is the answer),
// nothing is written, so the root is the one a boot with the module gives;
// otherwise the merged status is written through the root (a small file in
// the upper directory), through a rename.
func settle(root Root, want []byte) (string, error) {
	p := filepath.Join(root.Dir, StatusFile)
	cur, err := readStatus(p)
	if err != nil {
		return "", err
	}
	if bytes.Equal(cur.Bytes(), want) {
		return "as the layers show it", nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	tmp := filepath.Join(filepath.Dir(p), ".status.mode-activate")
	if err := os.WriteFile(tmp, want, 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return "merged and written", nil
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// upperEntries lists the module's paths that the root's upper directory
// holds: its files, links and whiteouts that were changed through the root
// (edited, replaced, deleted), and everything under a directory only the
// module has (created in it). dpkg's status is left to the status merge.
func upperEntries(m Module, root Root) []string {
	var out []string
	for _, d := range m.Dirs {
		base := filepath.Join(m.Mount, d)
		filepath.WalkDir(base, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			rel, _ := filepath.Rel(m.Mount, p)
			if rel == StatusFile {
				return nil
			}
			up := filepath.Join(root.Upper, rel)
			if !e.IsDir() {
				if _, err := os.Lstat(up); err == nil {
					out = append(out, rel)
				}
				return nil
			}
			if !newDir(root, rel) {
				return nil
			}
			filepath.WalkDir(up, func(q string, _ fs.DirEntry, err error) error {
				if err == nil && q != up {
					r, _ := filepath.Rel(root.Upper, q)
					out = append(out, r)
				}
				return nil
			})
			return filepath.SkipDir
		})
	}
	sort.Strings(out)
	return out
}

// newDir reports whether no booted layer has the directory rel.
func newDir(root Root, rel string) bool {
	for _, l := range root.Lowers {
		if _, err := os.Lstat(filepath.Join(l, rel)); err == nil {
			return false
		}
	}
	return true
}

// kept lists what changed under the module's paths since its activation.
// A directory with more than keptPerDir such entries directly in it is
// listed once, with their number, instead of each.
func kept(m Module, root Root) []string {
	before := map[string]bool{}
	for _, p := range m.Upper {
		before[p] = true
	}
	var paths []string
	for _, p := range upperEntries(m, root) {
		if !before[p] {
			paths = append(paths, "/"+p)
		}
	}
	return collapse(paths)
}

const keptPerDir = 4

// collapse replaces everything under a directory holding more than
// keptPerDir of paths directly by "DIR/ (N entries)", deepest first.
func collapse(paths []string) []string {
	for {
		count := map[string]int{}
		for _, p := range paths {
			count[filepath.Dir(strings.TrimSuffix(strings.Fields(p)[0], "/"))]++
		}
		var big string
		for d, n := range count {
			if n > keptPerDir && (big == "" || strings.Count(d, "/") > strings.Count(big, "/")) {
				big = d
			}
		}
		if big == "" {
			return paths
		}
		var out []string
		n := 0
		for _, p := range paths {
			f := strings.TrimSuffix(strings.Fields(p)[0], "/")
			if strings.HasPrefix(f, big+"/") {
				n += entries(p)
				continue
			}
			if f == big {
				continue // the directory itself: counted in its line
			}
			out = append(out, p)
		}
		out = append(out, fmt.Sprintf("%s/ (%d entries)", big, n))
		sort.Strings(out)
		paths = out
	}
}

// entries is how many changed entries a line of collapse stands for.
func entries(line string) int {
	var n int
	if _, err := fmt.Sscanf(line[strings.Index(line, " ")+1:], "(%d entries)", &n); err == nil && strings.Contains(line, " (") {
		return n
	}
	return 1
}
