package clean

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/layers"
)

// cleanCase makes a lower tree and an upper directory over it holding one
// of each thing Clean handles.
func cleanCase(t *testing.T) (upper, lower string) {
	t.Helper()
	dir := t.TempDir()
	upper, lower = filepath.Join(dir, "upper"), filepath.Join(dir, "lower")
	for _, f := range []string{"/etc/same", "/etc/changed", "/d/f"} {
		writeFile(t, lower+f, "lower\n")
	}
	writeFile(t, upper+"/etc/same", "lower\n")     // a copy-up equal to the lower file: pruned
	writeFile(t, upper+"/etc/changed", "upper\n")  // kept, its origin xattr stripped
	writeFile(t, upper+"/d/f", "lower\n")          // pruned, and then /d with it
	writeFile(t, upper+"/var/log/l", "log\n")      // built-in exclusion
	writeFile(t, upper+"/etc/machine-id", "abc\n") // emptied
	writeFile(t, upper+"/opt/a.log", "a\n")        // the module's exclusion
	writeFile(t, upper+"/opt/a.txt", "a\n")        // kept
	must(t, unix.Mknod(upper+"/etc/gone", unix.S_IFCHR, 0))
	must(t, unix.Lsetxattr(upper+"/etc/changed", "trusted.overlay.origin", []byte("o"), 0))
	must(t, unix.Lsetxattr(upper+"/etc", "trusted.overlay.impure", []byte("y"), 0))
	must(t, unix.Lsetxattr(upper+"/opt", opaqueXattr, []byte("y"), 0))
	return upper, lower
}

func TestPlanClean(t *testing.T) {
	testutil.RequiresRoot(t)
	upper, lower := cleanCase(t)
	c := Options{Lower: lower, Exclude: []string{"/opt/*.log"}}
	before := testutil.Snapshot(t, upper)
	p, err := PlanOf(upper, c)
	if err != nil {
		t.Fatal(err)
	}
	if after := testutil.Snapshot(t, upper); after != before {
		t.Errorf("PlanOf changed the upper directory:\n%s", cmp.Diff(before, after))
	}
	want := &Plan{
		Drop:     []string{"/d", "/etc/same", "/opt/a.log", "/var/log/l"},
		Empty:    []string{"/etc/machine-id"},
		Strip:    map[string][]string{"/etc": {"trusted.overlay.impure"}, "/etc/changed": {"trusted.overlay.origin"}},
		Pruned:   layers.Pruned{Files: 2, Bytes: 12},
		Excluded: layers.Pruned{Files: 3, Bytes: 10},
	}
	if d := cmp.Diff(want, p); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}

	// Clean does what the plan says.
	pruned, excluded, err := Clean(upper, c)
	if err != nil {
		t.Fatal(err)
	}
	if pruned != want.Pruned || excluded != want.Excluded {
		t.Errorf("Clean counted %+v %+v, want %+v %+v", pruned, excluded, want.Pruned, want.Excluded)
	}
	var got []string
	filepath.Walk(upper, func(p string, fi os.FileInfo, err error) error {
		x, _ := testutil.Xattrs(p)
		got = append(got, p[len(upper):]+" "+fi.Mode().String()+" "+fmtMap(x)+" "+sizeOf(fi))
		return nil
	})
	wantTree := []string{
		" drwxr-xr-x  ",
		"/etc drwxr-xr-x  ",
		"/etc/changed -rw-r--r--  6",
		"/etc/gone Dc---------  ",
		"/etc/machine-id -rw-r--r--  0",
		"/opt drwxr-xr-x trusted.overlay.opaque=y ",
		"/opt/a.txt -rw-r--r--  2",
		"/var drwxr-xr-x  ",
		"/var/log drwxr-xr-x  ",
	}
	if d := cmp.Diff(wantTree, got); d != "" {
		t.Errorf("upper after Clean (-want +got):\n%s", d)
	}
}

func fmtMap(m map[string]string) string {
	s := ""
	for k, v := range m {
		s += k + "=" + v
	}
	return s
}

func sizeOf(fi os.FileInfo) string {
	if !fi.Mode().IsRegular() {
		return ""
	}
	return fmt.Sprint(fi.Size())
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

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
