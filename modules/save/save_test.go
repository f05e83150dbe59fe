package save

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/mount"
	"github.com/mode-build/mode/squashfs"
	"github.com/mode-build/mode/verity"
)

// bootedSystem is a simulated booted system: a run directory laid out as the
// init leaves /run/mode, and its live overlay root.
type bootedSystem struct {
	run, root string
	metas     []layers.Meta
	mounts    []string // to unmount, in order
}

// boot squashes trees (base first) into run/layers, mounts them as the init
// does (run/layers/STEM), stacks them under run/changes at root and writes
// run/chain.json.
func boot(t testing.TB, trees ...string) *bootedSystem {
	t.Helper()
	tmp := t.TempDir()
	s := &bootedSystem{run: filepath.Join(tmp, "run"), root: filepath.Join(tmp, "root")}
	for _, d := range []string{layers.LayersDir(s.run), layers.ChangesDir(s.run), filepath.Join(s.run, ".work")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for i := len(s.mounts) - 1; i >= 0; i-- {
			if err := mount.Unmount(s.mounts[i]); err != nil {
				t.Error(err)
			}
		}
		testutil.NoLeaks(t, tmp)
	})
	var lowers, names []string
	for _, tree := range trees {
		name := filepath.Base(tree)
		names = append(names, name)
		file := strings.Join(names, "-") + ".sqfs"
		p := filepath.Join(layers.LayersDir(s.run), file)
		if err := squashfs.Squash(context.Background(), tree, p, "zstd"); err != nil {
			t.Fatal(err)
		}
		m := layers.Meta{Name: name, Chain: slices.Clone(names), File: file, Digest: fileDigest(t, p)}
		if len(names) > 1 {
			m.Parent = names[len(names)-2]
		}
		s.metas = append(s.metas, m)
		target := strings.TrimSuffix(p, ".sqfs")
		if err := mount.MountSquashfs(p, target); err != nil {
			t.Fatal(err)
		}
		s.mounts = append(s.mounts, target)
		lowers = append([]string{target}, lowers...)
	}
	ov := mount.Overlay(lowers, layers.ChangesDir(s.run), filepath.Join(s.run, ".work"), s.root)
	if err := ov.Mount(); err != nil {
		t.Fatal(err)
	}
	s.mounts = append(s.mounts, s.root)
	b := layers.Booted{Name: strings.Join(names, "-"), Ref: "127.0.0.1:5000/tiny:" + names[len(names)-1],
		Digest: "sha256:" + strings.Repeat("ab", 32), Layers: s.metas}
	data, _ := json.Marshal(b)
	if err := os.WriteFile(layers.ChainFile(s.run), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

func fileDigest(t testing.TB, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
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

// twoLayers makes a busybox base and a small layer above it.
func twoLayers(t testing.TB) []string {
	t.Helper()
	dir := t.TempDir()
	base, extra := filepath.Join(dir, "base"), filepath.Join(dir, "extra")
	testutil.BusyboxRoot(t, base)
	writeFile(t, base+"/etc/config", "setting=1\n")
	writeFile(t, base+"/etc/delme", "going\n")
	writeFile(t, base+"/etc/touched", "same content\n")
	writeFile(t, base+"/etc/machine-id", "")
	writeFile(t, base+"/opt/old/file", "old\n")
	writeFile(t, extra+"/etc/extra.conf", "extra=1\n")
	return []string{base, extra}
}

func TestSaveChanges(t *testing.T) {
	testutil.RequiresRoot(t)
	s := boot(t, twoLayers(t)...)
	r := s.root
	// What a user does on the running system.
	writeFile(t, r+"/etc/new", "created\n")
	writeFile(t, r+"/etc/config", "setting=2\n")
	must(t, os.Remove(r+"/etc/delme"))
	must(t, os.Remove(r+"/bin/ls"))                           // overlayfs may link whiteouts to one inode
	must(t, os.Chtimes(r+"/etc/touched", testTime, testTime)) // a copy-up equal to the lower file
	writeFile(t, r+"/var/log/boot.log", "log line\n")
	writeFile(t, r+"/tmp/junk", "junk\n")
	writeFile(t, r+"/etc/machine-id", "0123456789abcdef0123456789abcdef\n")
	must(t, os.RemoveAll(r+"/opt/old"))
	writeFile(t, r+"/opt/old/new", "replaced\n") // an opaque directory
	writeFile(t, r+"/etc/extra.conf", "extra=2\n")
	must(t, os.MkdirAll(r+"/srv/rich", 0o755))
	testutil.RichTree(t, r+"/srv/rich") // every kind of entry, through both passes

	before := testutil.Snapshot(t, layers.ChangesDir(s.run))
	if !strings.Contains(before, "trusted.overlay.origin") {
		t.Fatalf("the live upper has no overlay-internal xattrs, the test proves nothing:\n%s", before)
	}
	out := t.TempDir()
	meta, err := SaveChanges(context.Background(), s.run, Options{Name: "mine", Out: out, Compression: "zstd"})
	if err != nil {
		t.Fatal(err)
	}
	if after := testutil.Snapshot(t, layers.ChangesDir(s.run)); after != before {
		t.Errorf("save changed the live upper:\n%s", cmp.Diff(before, after))
	}

	img := filepath.Join(out, "base-extra-mine.sqfs")
	want := layers.Meta{Name: "mine", Parent: "extra", Chain: []string{"base", "extra", "mine"}, File: "base-extra-mine.sqfs",
		Digest: fileDigest(t, img), Compression: "zstd:9",
		ParentDigests: []string{s.metas[0].Digest, s.metas[1].Digest}, ParentManifest: "sha256:" + strings.Repeat("ab", 32)}
	var onDisk layers.Meta
	data, err := os.ReadFile(filepath.Join(out, "base-extra-mine.json"))
	must(t, err)
	must(t, json.Unmarshal(data, &onDisk))
	if meta.Verity == nil || onDisk.Verity == nil {
		t.Error("the saved layer has no verity data")
	} else if err := verity.Check(meta.Verity, img); err != nil {
		t.Error(err)
	}
	for _, m := range []layers.Meta{meta, onDisk} {
		got := m
		got.Size, got.Seconds, got.Pruned, got.Excluded = 0, 0, layers.Pruned{}, layers.Pruned{}
		got.Verity = nil // checked above
		got.Built = want.Built
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("metadata (-want +got):\n%s", d)
		}
	}
	if meta.Pruned.Files != 1 || meta.Excluded.Files != 3 {
		t.Errorf("pruned %+v, excluded %+v: want 1 pruned (etc/touched), 3 excluded (boot.log, junk, machine-id)", meta.Pruned, meta.Excluded)
	}
	if out, err := exec.Command("unsquashfs", "-d", filepath.Join(t.TempDir(), "u"), img).CombinedOutput(); err != nil {
		t.Errorf("unsquashfs refuses the saved layer: %v: %s", err, out)
	}

	entries, err := squashfs.Inspect(img)
	must(t, err)
	got := map[string]squashfs.Entry{}
	for _, e := range entries {
		got[e.Path] = e
		for k := range e.Xattrs {
			if strings.HasPrefix(k, "trusted.overlay.") && !(k == squashfs.OpaqueXattr && e.Type == squashfs.TypeDir) {
				t.Errorf("%s: overlay-internal xattr %s travelled", e.Path, k)
			}
		}
	}
	for _, p := range []string{"/var/log/boot.log", "/tmp/junk", "/etc/touched"} {
		if _, ok := got[p]; ok {
			t.Errorf("%s travelled into the saved layer", p)
		}
	}
	for _, p := range []string{"/etc/delme", "/bin/ls"} {
		if e := got[p]; !e.Whiteout {
			t.Errorf("%s: want a whiteout, got %+v", p, e)
		}
	}
	if e := got["/opt/old"]; !e.Opaque {
		t.Errorf("/opt/old: want an opaque directory, got %+v", e)
	}
	if e, ok := got["/etc/machine-id"]; !ok || e.Size != 0 {
		t.Errorf("/etc/machine-id: want kept empty, got %+v (present %v)", e, ok)
	}

	// The saved layer stacks over its parents as the running system was.
	stack := filepath.Join(t.TempDir(), "stack")
	mnt := filepath.Join(filepath.Dir(stack), "saved")
	must(t, mount.MountSquashfs(img, mnt))
	defer mount.Unmount(mnt)
	lowers := []string{mnt, strings.TrimSuffix(filepath.Join(layers.LayersDir(s.run), s.metas[1].File), ".sqfs"),
		strings.TrimSuffix(filepath.Join(layers.LayersDir(s.run), s.metas[0].File), ".sqfs")}
	must(t, mount.Overlay(lowers, "", "", stack).Mount())
	defer mount.Unmount(stack)
	for p, want := range map[string]string{"/etc/new": "created\n", "/etc/config": "setting=2\n",
		"/etc/extra.conf": "extra=2\n", "/etc/touched": "same content\n", "/opt/old/new": "replaced\n", "/etc/machine-id": ""} {
		if b, err := os.ReadFile(stack + p); err != nil || string(b) != want {
			t.Errorf("%s in the stack: got %q, %v; want %q", p, b, err, want)
		}
	}
	for _, p := range []string{"/etc/delme", "/bin/ls", "/opt/old/file", "/var/log/boot.log", "/tmp/junk"} {
		if _, err := os.Lstat(stack + p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s in the stack: want gone, got %v", p, err)
		}
	}
	rich := t.TempDir()
	testutil.RichTree(t, rich)
	testutil.CompareTrees(t, rich, stack+"/srv/rich")
	if err := layers.CheckParents(append(slices.Clone(s.metas), meta)); err != nil {
		t.Errorf("CheckParents on the chain it was saved on: %v", err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(s.run, ".save-*"))
	hidden, _ := filepath.Glob(filepath.Join(out, ".*"))
	if len(leftovers)+len(hidden) > 0 {
		t.Errorf("temporary files left: %v %v", leftovers, hidden)
	}
}

func TestSaveChangesErrors(t *testing.T) {
	testutil.RequiresRoot(t)
	s := boot(t, twoLayers(t)...)
	writeFile(t, s.root+"/etc/new", "created\n")
	t.Run("no mksquashfs", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		_, err := SaveChanges(context.Background(), s.run, Options{Name: "mine", Out: t.TempDir()})
		if !errors.Is(err, squashfs.ErrNoMksquashfs) || !strings.Contains(err.Error(), "squashfs-tools") {
			t.Errorf("got %v, want squashfs.ErrNoMksquashfs saying to install squashfs-tools", err)
		}
	})
	for _, tt := range []struct{ name, save, out, want string }{
		{"bad name", "My-Layer", t.TempDir(), `name "My-Layer"`},
		{"out inside changes", "mine", layers.ChangesDir(s.run), "inside the changes"},
		{"out on the overlay root", "mine", s.root + "/root", "on the overlay root"},
		{"not booted", "mine", t.TempDir(), "not a system booted by mode"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			run := s.run
			if tt.name == "not booted" {
				run = t.TempDir()
			}
			_, err := SaveChanges(context.Background(), run, Options{Name: tt.save, Out: tt.out})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

var testTime = mustTime("2026-01-02T03:04:05Z")

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustTime(s string) (tm time.Time) {
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return tm
}
