package maker

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/modules"
)

// pipeHierarchy is examples/tiny plus siblings that build over their
// parents' trees as directory lowers: a whiteout of a parent's file, a
// copy-up in its opaque directory, and an opaque directory over it. Their
// run steps fail unless the parents' whiteouts and opaque directories are
// honoured.
//
//	base ─ essential ┬ console ─ extra
//	                 └ sib ─ sib2
var pipeHierarchy = map[string]string{
	"sib.yaml": `name: sib
parent: essential
run:
  - test ! -e /etc/old.conf && test "$(ls /usr/share/tiny)" = new.txt
  - rm /etc/essential.conf && chmod 600 /usr/share/tiny/new.txt && echo sib >> /etc/motd
`,
	"sib2.yaml": `name: sib2
parent: sib
run:
  - test ! -e /etc/essential.conf && test "$(stat -c %a /usr/share/tiny/new.txt)" = 600
  - rm -r /usr/share/tiny && mkdir /usr/share/tiny && echo two > /usr/share/tiny/two.txt
`,
}

// pipeDir writes the test hierarchy (plus extra module files) into a
// temporary directory.
func pipeDir(t *testing.T, extra map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "h")
	if out, err := exec.Command("cp", "-a", tinyDir, dir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	for _, files := range []map[string]string{pipeHierarchy, extra} {
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// gatedMaker is a Maker whose layers are squashed only once every child of
// the module in the plan has made its tree (or failed to): each child
// builds over its parent's tree directory, never its layer file. It records
// the lowers each module got.
type gatedMaker struct {
	*Maker
	h *modules.Hierarchy
	// gate, when set, lists the modules whose squash waits, and for which
	// children; else every module waits for all its children.
	gate map[string][]string

	mu     sync.Mutex
	lowers map[string][]modules.Lower
	made   map[string]chan struct{} // closed when the module's Tree returned
}

func (g *gatedMaker) madeCh(name string) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.made == nil {
		g.made, g.lowers = map[string]chan struct{}{}, map[string][]modules.Lower{}
	}
	if g.made[name] == nil {
		g.made[name] = make(chan struct{})
	}
	return g.made[name]
}

func (g *gatedMaker) Tree(ctx context.Context, m *modules.Module, parents []modules.Lower) (modules.Tree, error) {
	defer close(g.madeCh(m.Name))
	g.mu.Lock()
	g.lowers[m.Name] = parents
	g.mu.Unlock()
	t, err := g.Maker.Tree(ctx, m, parents)
	if err != nil {
		return nil, err
	}
	return gatedTree{t, g, m.Name}, nil
}

type gatedTree struct {
	modules.Tree
	g    *gatedMaker
	name string
}

func (t gatedTree) Squash(ctx context.Context, dst string) error {
	// A child that never starts (another module failed) never makes its
	// tree: the gate gives up on it after a while, and the test fails on
	// that module's error.
	giveUp := time.After(time.Minute)
	kids := t.g.h.Children(t.name)
	if t.g.gate != nil {
		kids = t.g.gate[t.name]
	}
	for _, kid := range kids {
		select {
		case <-t.g.madeCh(kid):
		case <-giveUp:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return t.Tree.Squash(ctx, dst)
}

// TestPipelineSameLayers builds the test hierarchy one module after the
// other and pipelined (each child over its parent's tree directory,
// siblings side by side), and once more with issue 26's levers off (fsync,
// dpkg's safe I/O, mksquashfs's priority), and wants byte-identical layers.
// Needs root.
func TestPipelineSameLayers(t *testing.T) {
	requireRoot(t)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000") // mksquashfs: every time clamped to it
	dir := pipeDir(t, nil)
	h, err := modules.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	build := func(mk modules.Maker, jobs int) map[string]string {
		out, scratch := t.TempDir(), t.TempDir()
		if g, ok := mk.(*gatedMaker); ok {
			g.Scratch = scratch
		} else {
			mk.(*Maker).Scratch = scratch
		}
		b := &modules.Builder{Hierarchy: h, Out: out, Maker: mk, Jobs: jobs}
		res, err := b.Build(context.Background())
		if err != nil {
			t.Fatalf("build (jobs %d): %v", jobs, err)
		}
		testutil.NoLeaks(t, scratch)
		if left, _ := os.ReadDir(scratch); len(left) > 0 {
			t.Errorf("jobs %d: scratch holds %d entries after the build, want none", jobs, len(left))
		}
		digests := map[string]string{}
		for _, r := range res {
			digests[r.Meta.File] = r.Meta.Digest
		}
		return digests
	}
	seq := build(&Maker{}, 0)
	g := &gatedMaker{Maker: &Maker{}, h: h}
	piped := build(g, 2)
	if len(seq) != 6 {
		t.Fatalf("sequential build made %d layers, want 6: %v", len(seq), seq)
	}
	for file, d := range seq {
		if piped[file] != d {
			t.Errorf("%s: pipelined %s, sequential %s", file, piped[file], d)
		}
	}
	// issue 26's levers off (fsyncs kept, dpkg safe, mksquashfs at the
	// build's priority): the same bytes.
	old := &Maker{}
	today(old)
	for file, d := range build(old, 0) {
		if seq[file] != d {
			t.Errorf("%s: with the levers off %s, on %s", file, d, seq[file])
		}
	}
	for name, ls := range g.lowers {
		if len(ls) > 0 && ls[len(ls)-1].Dir == "" {
			t.Errorf("%s was built over its parent's layer file, not its tree: %+v", name, ls)
		}
	}
}

// TestPipelineFailingChild fails a child while its parent's layer is being
// squashed: the parent's layer and every other finished one must be in
// place, the error must name the child, and nothing may be left: no
// temporary file, mount, loop device or scratch directory. Needs root.
func TestPipelineFailingChild(t *testing.T) {
	requireRoot(t)
	dir := pipeDir(t, map[string]string{"bad.yaml": "name: bad\nparent: essential\nrun:\n  - echo bad > /etc/bad\n  - exit 3\n"})
	h, err := modules.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	out, scratch := t.TempDir(), t.TempDir()
	g := &gatedMaker{Maker: &Maker{Scratch: scratch}, h: h, gate: map[string][]string{"essential": {"bad"}}}
	b := &modules.Builder{Hierarchy: h, Out: out, Maker: g, Jobs: 2}
	res, err := b.Build(context.Background(), "bad", "console")
	if err == nil || !strings.Contains(err.Error(), "module bad:") || !strings.Contains(err.Error(), "run step 2") {
		t.Fatalf("Build: %v, want an error naming module bad and its run step 2", err)
	}
	testutil.NoLeaks(t, scratch)
	if left, _ := os.ReadDir(scratch); len(left) > 0 {
		t.Errorf("scratch holds %d entries after the build, want none", len(left))
	}
	var got []string
	for _, r := range res {
		got = append(got, r.Module.Name)
	}
	// console started before bad failed (the plan is base, essential, bad,
	// console; bad's tree is made while essential squashes) or did not start:
	// never half-done.
	for _, want := range []string{"base", "essential"} {
		if !strings.Contains(strings.Join(got, " "), want) {
			t.Errorf("results %v: want %s (the failing child must not lose it)", got, want)
		}
	}
	entries, _ := os.ReadDir(out)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		if strings.HasPrefix(e.Name(), ".") && e.Name() != lockName {
			t.Errorf("out holds a temporary file %s", e.Name())
		}
	}
	for _, f := range []string{"base.sqfs", "base.json", "base-essential.sqfs", "base-essential.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s: %v (out holds %v)", f, err, names)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "base-essential-bad.sqfs")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the failed module's layer: %v, want none", err)
	}
}
