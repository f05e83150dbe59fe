package maker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/modules"
)

// TestFilesStayInRoot is the host-escape of issue 12: a parent layer holds
// /etc/x, a link to a host directory, and a files entry copies a link
// through it (files/L -> x/../keep) with a mode. The chmod must not reach the
// host file; links resolve inside the root, as if it were "/".
func TestFilesStayInRoot(t *testing.T) {
	requireRoot(t)
	host := t.TempDir() // the build host: its keep must stay 0644
	must(t, os.Mkdir(filepath.Join(host, "dir"), 0o755))
	keep := filepath.Join(host, "keep")
	must(t, os.WriteFile(keep, []byte("host\n"), 0o644))

	hier := t.TempDir()
	must(t, os.Mkdir(filepath.Join(hier, "files"), 0o755))
	must(t, os.Symlink("x/../keep", filepath.Join(hier, "files", "L")))
	must(t, os.Symlink("x/../keep", filepath.Join(hier, "files", "M")))
	must(t, os.WriteFile(filepath.Join(hier, "files", "motd"), []byte("hi\n"), 0o644))

	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	must(t, os.Symlink(filepath.Join(host, "dir"), filepath.Join(root, "etc", "x")))
	// /usr -> a host path too: a destination below it must land in the root.
	must(t, os.Symlink(host, filepath.Join(root, "usr")))
	// In the root, /etc/x resolves to ROOT/HOST/dir: give it a keep there.
	must(t, os.MkdirAll(filepath.Join(root, host, "dir"), 0o755))
	inRootKeep := filepath.Join(root, host, "keep")
	must(t, os.WriteFile(inRootKeep, []byte("root\n"), 0o644))

	m := &modules.Module{Name: "m", Parent: "base", Dir: hier, Path: filepath.Join(hier, "m.yaml"), Files: []modules.File{
		{Src: "files/L", Dst: "/etc/L", Mode: "0600"},
		{Src: "files/motd", Dst: "/usr/keep", Mode: "0640"},
	}}
	if err := copyFiles(m, root); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{keep} {
		fi, err := os.Stat(p)
		must(t, err)
		if fi.Mode().Perm() != 0o644 {
			t.Errorf("host file %s changed to %v", p, fi.Mode())
		}
		if b, _ := os.ReadFile(p); string(b) != "host\n" {
			t.Errorf("host file %s rewritten: %q", p, b)
		}
	}
	// /etc/L -> x/../keep resolved in the root is ROOT/HOST/keep, which
	// the second entry (through /usr -> HOST) replaced with the motd, 0640
	// after the first entry's 0600.
	if l, err := os.Readlink(filepath.Join(root, "etc", "L")); err != nil || l != "x/../keep" {
		t.Errorf("/etc/L: %q, %v; want the link copied as a link", l, err)
	}
	fi, err := os.Lstat(inRootKeep)
	must(t, err)
	if b, _ := os.ReadFile(inRootKeep); fi.Mode().Perm() != 0o640 || string(b) != "hi\n" {
		t.Errorf("%s: %v %q, want the motd with mode 0640", inRootKeep, fi.Mode(), b)
	}

	// A mode through a link that resolves nowhere in the root fails, naming it.
	must(t, os.Remove(inRootKeep))
	m.Files = []modules.File{{Src: "files/M", Dst: "/etc/M", Mode: "0600"}}
	err = copyFiles(m, root)
	if err == nil || !strings.Contains(err.Error(), "files /etc/M: mode 0600") {
		t.Errorf("mode through a dangling link: %v, want an error naming /etc/M", err)
	}
	if fi, _ := os.Stat(keep); fi.Mode().Perm() != 0o644 {
		t.Errorf("host file %s changed to %v", keep, fi.Mode())
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
