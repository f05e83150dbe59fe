package maker

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/modules"
	"github.com/mode-build/mode/modules/chroot"
	"github.com/mode-build/mode/modules/debian"
	"github.com/mode-build/mode/mount"
)

// debianOut is where the Debian example's layers are built: a temporary
// directory, or $MODE_E2E_OUT to keep them between runs (then they are
// rebuilt only when their cache keys change).
func debianOut(t *testing.T) string {
	if d := os.Getenv("MODE_E2E_OUT"); d != "" {
		return d
	}
	return t.TempDir()
}

// buildDebian builds names of examples/debian with the real Maker. It needs
// root (loop devices, overlayfs, chroot, mmdebstrap) and the host's Debian
// archive; packages come from the shared apt cache when it has them.
func buildDebian(t *testing.T, out string, names ...string) []modules.Result {
	t.Helper()
	rs, _ := buildHierarchy(t, filepath.Join("..", "..", "examples", "debian"), out, names...)
	return rs
}

// buildHierarchy builds names of the hierarchy dir into out and returns the
// results and the steps' output.
func buildHierarchy(t *testing.T, dir, out string, names ...string) ([]modules.Result, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: building examples/debian needs root and the Debian archive (a few minutes cold)")
	}
	if os.Geteuid() != 0 {
		t.Fatal("building examples/debian needs root: loop devices, overlayfs, chroot, mmdebstrap")
	}
	h, err := modules.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	ahead := &aheadLog{t: t}
	b := &modules.Builder{Hierarchy: h, Out: out,
		Maker: &Maker{Scratch: t.TempDir(), Stdout: &log, Stderr: &log, Log: slog.New(ahead)}}
	rs, err := b.Build(context.Background(), names...)
	if err != nil {
		t.Fatalf("build %v: %v\n%s", names, err, tail(log.String(), 40))
	}
	ahead.check()
	return rs, log.String()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestDebianConsole builds examples/debian up to console and checks, from the
// mounted stack of its three layers, what the Debian issue asks: dpkg has
// every package the layers added as installed, ssh -V runs in a chroot of
// the stack, what console removed is gone, and no layer holds apt lists,
// archives, logs, a machine id or a host file.
func TestDebianConsole(t *testing.T) {
	out := debianOut(t)
	rs := buildDebian(t, out, "console")
	if len(rs) != 3 {
		t.Fatalf("%d results, want base, essential, console", len(rs))
	}
	var files []string
	want := map[string]string{} // package → version, as the layers' metadata say
	for _, r := range rs {
		t.Logf("%s: cached %v, %s, %d bytes, pruned %+v", r.Meta.File, r.Cached, r.Duration.Round(time.Millisecond), r.Meta.Size, r.Meta.Pruned)
		files = append(files, r.Path)
		p := r.Meta.Packages
		if p == nil || len(p.Added) == 0 {
			t.Fatalf("%s: no packages added in its metadata", r.Meta.File)
		}
		for _, a := range p.Added {
			want[a.Name] = a.Version
		}
		for _, u := range p.Upgraded {
			want[u.Name] = u.Version
		}
		for _, d := range p.Removed {
			delete(want, d.Name)
		}
		checkLayerClean(t, r.Path)
	}
	removed := rs[2].Meta.Packages.Removed
	if len(removed) == 0 {
		t.Fatal("console's metadata lists no removed package")
	}

	ws, err := mount.OpenWorkspace(files, t.TempDir(), "ws-")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := ws.Close(); err != nil {
			t.Error(err)
		}
		testutil.NoLeaks(t, ws.Dir)
	}()
	run := func(argv ...string) string {
		t.Helper()
		var stdout bytes.Buffer
		if err := chroot.Run(context.Background(), ws.Root, chroot.Options{Stdout: &stdout, Stderr: &stdout}, argv...); err != nil {
			t.Fatalf("%v: %v: %s", argv, err, stdout.String())
		}
		return stdout.String()
	}

	// dpkg, run in the stack, lists every package of the three layers as installed.
	installed := map[string]string{}
	for _, line := range strings.Split(run("dpkg-query", "-W", "-f", "${Package}\t${Version}\t${db:Status-Status}\n"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) == 3 && f[2] == "installed" {
			installed[f[0]] = f[1]
		}
	}
	for name, version := range want {
		if installed[name] != version {
			t.Errorf("package %s: dpkg has %q installed, the layers' metadata say %s", name, installed[name], version)
		}
	}
	if len(installed) != len(want) {
		t.Errorf("dpkg lists %d installed packages, the layers' metadata %d", len(installed), len(want))
	}
	// The diff of the whole stack against nothing is what the layers say.
	if inst, err := debian.ReadStatus(ws.Lower); err != nil || len(inst) != len(want) {
		t.Errorf("status of the stack: %d packages, %v; want %d", len(inst), err, len(want))
	}

	if v := run("ssh", "-V"); !strings.HasPrefix(v, "OpenSSH_") {
		t.Errorf("ssh -V in the stack printed %q", v)
	}
	for _, p := range removed {
		if _, ok := installed[p.Name]; ok {
			t.Errorf("console removed %s, dpkg still lists it", p.Name)
		}
	}
	for _, f := range []string{"usr/lib/usrmerge/convert-usrmerge"} { // of usrmerge
		if _, err := os.Lstat(filepath.Join(ws.Lower, f)); err == nil {
			t.Errorf("/%s is in the stack, console removed its package", f)
		}
	}
	if fi, err := os.Stat(filepath.Join(ws.Lower, "etc/machine-id")); err != nil || fi.Size() != 0 {
		t.Errorf("/etc/machine-id in the stack: %v, want an empty file", err)
	}

	// A second build changes nothing (how fast: BenchmarkTinyWarm,
	// BenchmarkHierarchy).
	for _, r := range buildDebian(t, out, "console") {
		if !r.Cached {
			t.Errorf("rebuild with nothing changed made %s again", r.Meta.File)
		}
	}

	// Editing console rebuilds console alone, and downloads no package: they
	// are all in the shared apt cache.
	edited := editedConsole(t, "\nexclude:", "\n  - echo edited > /etc/edited\nexclude:")
	// A separate output directory, holding base and essential as built.
	editedOut := t.TempDir()
	for _, r := range rs[:2] {
		meta := strings.TrimSuffix(r.Path, ".sqfs") + ".json"
		if b, err := exec.Command("cp", "-a", r.Path, meta, editedOut).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v: %s", err, b)
		}
	}
	rs, log := buildHierarchy(t, edited, editedOut, "console")
	for _, r := range rs {
		if r.Cached != (r.Module.Name != "console") {
			t.Errorf("after editing console: %s cached %v", r.Module.Name, r.Cached)
		}
	}
	if !strings.Contains(log, "Need to get 0 B/") || regexp.MustCompile(`Need to get [1-9]`).MatchString(log) {
		t.Errorf("rebuilding console downloaded packages again:\n%s", grepLines(log, "Need to get", "Get:"))
	}
	if p := rs[2].Meta.Packages; p == nil || len(p.Added) == 0 {
		t.Errorf("edited console's metadata lists no packages")
	}
}

func grepLines(s string, prefixes ...string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) {
				out = append(out, line)
			}
		}
	}
	return strings.Join(out, "\n")
}

// checkLayerClean fails t when the layer at sqfs holds apt lists, downloaded
// packages, logs, a machine id or a file of the build host.
func checkLayerClean(t *testing.T, sqfs string) {
	t.Helper()
	out, err := exec.Command("unsquashfs", "-d", "", "-lls", sqfs).CombinedOutput()
	if err != nil {
		t.Fatalf("unsquashfs -lls %s: %v: %s", sqfs, err, out)
	}
	forbidden := []string{"/var/lib/apt/lists/", "/var/cache/apt/", "/var/log/apt/", "/var/log/dpkg.log", "/var/log/alternatives.log",
		"/etc/resolv.conf", "/etc/hostname", "/etc/ssh/ssh_host_"}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[0][0] == 'd' {
			continue // directories may stay, empty
		}
		path := f[5]
		if f[0][0] == 'c' {
			continue // a whiteout: something of a lower layer deleted
		}
		for _, bad := range forbidden {
			if strings.HasPrefix(path, bad) {
				t.Errorf("%s holds %s (%s)", filepath.Base(sqfs), path, f[0])
			}
		}
		if path == "/etc/mtab" && !strings.HasSuffix(line, " -> ../proc/self/mounts") {
			t.Errorf("%s holds /etc/mtab, not a link to ../proc/self/mounts: %s", filepath.Base(sqfs), line)
		}
		if strings.HasSuffix(path, ".deb") {
			t.Errorf("%s holds the package %s", filepath.Base(sqfs), path)
		}
		if path == "/etc/machine-id" && f[2] != "0" {
			t.Errorf("%s holds a machine id (%s bytes)", filepath.Base(sqfs), f[2])
		}
	}
}
