package squashfs

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mode-build/mode/internal/testutil"
	"golang.org/x/sys/unix"
)

// TestSquashFilteredNames drops entries whose names mksquashfs's exclude
// matching could take as patterns or split, and keeps their look-alikes.
func TestSquashFilteredNames(t *testing.T) {
	testutil.RequiresRoot(t) // trusted.* xattrs
	testutil.RequiresTools(t, "mksquashfs")
	dropped := []string{"a b", "we*ird", "x?y", "[br]", "trailing ", " lead", `back\slash`, "new\nline",
		"#hash", ".dot", "tab\tx", `q"uo`, "!bang", "@(at)", "+(plus)", "dir with space", "ünï", "a,b:c"}
	keptNames := []string{"b", "weXird", "xzy", "newXline", "trailing", "lead", "backslash", "dot", "ünï2"}
	upper := t.TempDir()
	var f Filter
	for _, n := range dropped {
		if n == "dir with space" {
			writeFile(t, filepath.Join(upper, "d", n, "inside"), "x")
		} else {
			writeFile(t, filepath.Join(upper, "d", n), n)
		}
		f.Drop = append(f.Drop, "/d/"+n)
	}
	for _, n := range keptNames {
		writeFile(t, filepath.Join(upper, "d", n), n)
	}
	writeFile(t, filepath.Join(upper, "etc", "machine-id"), "0123\n")
	f.Empty = []string{"/etc/machine-id"}
	// A copy-up's overlay xattr with names that go on the command line
	// (-e, which takes the rest of it): the strip still runs, on -noI.
	if err := unix.Lsetxattr(filepath.Join(upper, "d", "b"), "trusted.overlay.origin", []byte("o"), 0); err != nil {
		t.Fatal(err)
	}
	f.StripXattrs = true
	img := filepath.Join(t.TempDir(), "x.sqfs")
	if err := SquashFiltered(context.Background(), upper, img, "zstd", f); err != nil {
		t.Fatal(err)
	}
	entries, err := Inspect(img)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Path)
		if len(e.Xattrs) > 0 {
			t.Errorf("%s: xattrs %v travelled", e.Path, e.Xattrs)
		}
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

func writeFile(t testing.TB, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
