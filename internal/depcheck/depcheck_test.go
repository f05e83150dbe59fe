package depcheck

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/mode-build/mode/"

// rules maps a package (relative to the module) to what of ours it may
// import; "*" is anything.
type rules map[string][]string

// readMap reads the block between the depcheck markers of docs/contracts.md:
// one "PACKAGE: ALLOWED..." a line.
func readMap(path string) (rules, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := rules{}
	in, n := false, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "<!-- depcheck:begin -->":
			in = true
		case line == "<!-- depcheck:end -->":
			return r, nil
		case !in || line == "" || strings.HasPrefix(line, "```"):
		default:
			pkg, allowed, ok := strings.Cut(line, ":")
			if !ok || strings.ContainsAny(pkg, " \t") {
				return nil, fmt.Errorf("%s:%d: want PACKAGE: IMPORTS, got %q", path, n, line)
			}
			if _, dup := r[pkg]; dup {
				return nil, fmt.Errorf("%s:%d: %s is in the map twice", path, n, pkg)
			}
			r[pkg] = strings.Fields(allowed)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%s: no <!-- depcheck:begin --> … <!-- depcheck:end --> block", path)
}

type pkg struct {
	ImportPath                         string
	Imports, TestImports, XTestImports []string
}

// listPackages runs go list over the module, for GOOS=linux (every file).
func listPackages(t *testing.T, root string) []pkg {
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOFLAGS=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var ps []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

// ours returns the imports of the module, relative to it.
func ours(imports []string) []string {
	var out []string
	for _, i := range imports {
		if rel, ok := strings.CutPrefix(i, module); ok {
			out = append(out, rel)
		}
	}
	return out
}

// violations checks packages against the map.
func violations(r rules, ps []pkg) []string {
	var bad []string
	seen := map[string]bool{}
	for _, p := range ps {
		name := strings.TrimPrefix(p.ImportPath, module)
		seen[name] = true
		allowed, ok := r[name]
		if !ok {
			bad = append(bad, fmt.Sprintf("%s is not in the map: add it with what it may import", name))
			continue
		}
		for _, i := range ours(p.Imports) {
			if !slices.Contains(allowed, "*") && !slices.Contains(allowed, i) {
				bad = append(bad, fmt.Sprintf("%s imports %s, which the map does not allow", name, i))
			}
		}
		for _, i := range ours(append(p.TestImports, p.XTestImports...)) {
			if strings.HasPrefix(i, "cmd/") {
				bad = append(bad, fmt.Sprintf("a test of %s imports %s: nothing imports cmd", name, i))
			}
		}
	}
	for name := range r {
		if !seen[name] {
			bad = append(bad, fmt.Sprintf("the map names %s, which is no package", name))
		}
	}
	slices.Sort(bad)
	return bad
}

// TestImportMap fails when any package imports against docs/contracts.md's map.
func TestImportMap(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	r, err := readMap(filepath.Join(root, "docs", "contracts.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range violations(r, listPackages(t, root)) {
		t.Error(v)
	}
}

// TestViolations: the check itself finds each kind of drift.
func TestViolations(t *testing.T) {
	r := rules{"layers": nil, "squashfs": {"layers"}, "cmd/mode": {"*"}, "gone": nil}
	ps := []pkg{
		{ImportPath: module + "layers", TestImports: []string{module + "cmd/mode"}},
		{ImportPath: module + "squashfs", Imports: []string{"os", module + "layers", module + "mount"}},
		{ImportPath: module + "cmd/mode", Imports: []string{module + "squashfs", module + "mount"}},
		{ImportPath: module + "new"},
	}
	want := []string{
		"a test of layers imports cmd/mode: nothing imports cmd",
		"new is not in the map: add it with what it may import",
		"squashfs imports mount, which the map does not allow",
		"the map names gone, which is no package",
	}
	if got := violations(r, ps); !slices.Equal(got, want) {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
