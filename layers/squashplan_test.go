package layers

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSquashPlanNames drops entries whose names mksquashfs's exclude
// matching could take as patterns or split, and keeps their look-alikes.
func TestSquashPlanNames(t *testing.T) {
	dropped := []string{"a b", "we*ird", "x?y", "[br]", "trailing ", " lead", `back\slash`, "new\nline",
		"#hash", ".dot", "tab\tx", `q"uo`, "!bang", "@(at)", "+(plus)", "dir with space", "ünï", "a,b:c"}
	keptNames := []string{"b", "weXird", "xzy", "newXline", "trailing", "lead", "backslash", "dot", "ünï2"}
	upper := t.TempDir()
	var exclude []string
	for _, n := range dropped {
		if n == "dir with space" {
			writeFile(t, filepath.Join(upper, "d", n, "inside"), "x")
		} else {
			writeFile(t, filepath.Join(upper, "d", n), n)
		}
		exclude = append(exclude, "/d/"+globEscape(n))
	}
	for _, n := range keptNames {
		writeFile(t, filepath.Join(upper, "d", n), n)
	}
	writeFile(t, filepath.Join(upper, "etc", "machine-id"), "0123\n")
	p, err := PlanClean(upper, Cleaning{Exclude: exclude})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Drop) != len(dropped) {
		t.Fatalf("plan drops %q, want %d entries", p.Drop, len(dropped))
	}
	img := filepath.Join(t.TempDir(), "x.sqfs")
	if err := SquashPlan(context.Background(), upper, img, "zstd", p); err != nil {
		t.Fatal(err)
	}
	entries, err := Inspect(img)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Path)
		if e.Path == "/etc/machine-id" && (e.Size != 0 || e.Mode.Perm() != 0o644) {
			t.Errorf("/etc/machine-id: want empty 0644, got %d bytes %v", e.Size, e.Mode)
		}
	}
	want := []string{"/", "/d", "/etc", "/etc/machine-id"}
	for _, n := range keptNames {
		want = append(want, "/d/"+n)
	}
	slices.Sort(want)
	slices.Sort(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("image entries (-want +got):\n%s", d)
	}
}

// globEscape quotes the path.Match metacharacters of a name.
func globEscape(n string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`).Replace(n)
}
