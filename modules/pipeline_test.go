package modules

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mode-build/mode/layers"
)

// fakeTrees is a TreeMaker whose trees are directories holding a file named
// after their module, and whose layers are "layer NAME".
type fakeTrees struct {
	t          *testing.T
	dir        string
	failSquash string            // a module whose squash fails
	onTree     func(name string) // called when a module's Tree starts
	beforeSq   func(name string) // called before a module squashes
	mu         sync.Mutex
	open       int                // trees not closed
	lowers     map[string][]Lower // name → what Tree got
}

func (f *fakeTrees) Make(context.Context, *Module, []string, string) (layers.Meta, error) {
	f.t.Error("Make called in a pipelined build")
	return layers.Meta{}, errors.New("no Make")
}

func (f *fakeTrees) Tree(ctx context.Context, m *Module, parents []Lower) (Tree, error) {
	if f.onTree != nil {
		f.onTree(m.Name)
	}
	for _, l := range parents {
		if l.Dir != "" {
			if _, err := os.Stat(l.Dir); err != nil {
				f.t.Errorf("Tree(%s): parent tree %s: %v", m.Name, l.Dir, err)
			}
		} else if _, err := os.Stat(l.File); err != nil {
			f.t.Errorf("Tree(%s): parent layer %s: %v", m.Name, l.File, err)
		}
	}
	d, err := os.MkdirTemp(f.dir, m.Name+"-")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(d, m.Name), nil, 0o644); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.open++
	if f.lowers == nil {
		f.lowers = map[string][]Lower{}
	}
	f.lowers[m.Name] = parents
	return &fakeTree{f: f, name: m.Name, dir: d}, nil
}

type fakeTree struct {
	f    *fakeTrees
	name string
	dir  string
}

func (t *fakeTree) Dir() string       { return t.dir }
func (t *fakeTree) Meta() layers.Meta { return layers.Meta{} }
func (t *fakeTree) Squash(ctx context.Context, dst string) error {
	if t.f.beforeSq != nil {
		t.f.beforeSq(t.name)
	}
	if err := os.WriteFile(dst, []byte("layer "+t.name), 0o644); err != nil {
		return err
	}
	if t.name == t.f.failSquash {
		return errors.New("mksquashfs exploded")
	}
	return nil
}
func (t *fakeTree) Close() error {
	t.f.mu.Lock()
	t.f.open--
	t.f.mu.Unlock()
	return os.RemoveAll(t.dir)
}

// TestPipeline: a pipelined build makes every layer, reports in plan
// order, builds children over their parents' trees while those squash,
// builds siblings side by side, and closes every tree.
func TestPipeline(t *testing.T) {
	h, _ := loadGood(t, nil)
	out := t.TempDir()
	f := &fakeTrees{t: t, dir: t.TempDir()}
	// conf and console are siblings: each waits, in its Tree, for the other
	// to have started; one at a time they would never both start.
	var started sync.WaitGroup
	started.Add(2)
	f.onTree = func(name string) {
		if name == "conf" || name == "console" {
			started.Done()
			waitGroup(t, &started, name)
		}
	}
	// essential squashes only once its children have their trees: they
	// were made over its tree, not its layer file.
	var kids sync.WaitGroup
	kids.Add(2)
	f.beforeSq = func(name string) {
		if name == "essential" {
			waitGroup(t, &kids, name)
		}
	}
	onTree := f.onTree
	f.onTree = func(name string) {
		onTree(name)
		if name == "conf" || name == "console" {
			defer kids.Done()
		}
	}
	var reported []string
	b := &Builder{Hierarchy: h, Maker: f, Out: out, Jobs: 2, Report: func(r Result) { reported = append(reported, r.Module.Name) }}
	res, err := b.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	plan, _ := h.Plan()
	var want []string
	for _, m := range plan {
		want = append(want, m.Name)
	}
	if !slices.Equal(reported, want) {
		t.Errorf("reported %v, want plan order %v", reported, want)
	}
	if len(res) != len(want) {
		t.Errorf("%d results, want %d", len(res), len(want))
	}
	for _, r := range res {
		// the maker's bytes, then the hash tree the Builder appends
		if data, err := os.ReadFile(r.Path); err != nil || !strings.HasPrefix(string(data), "layer "+r.Module.Name+"\x00") {
			t.Errorf("%s: not %s's layer (%d bytes), %v", r.Path, r.Module.Name, len(data), err)
		}
	}
	for _, kid := range []string{"conf", "console"} {
		ls := f.lowers[kid]
		if len(ls) != 2 || ls[1].Dir == "" {
			t.Errorf("%s built over %+v, want base and essential's tree", kid, ls)
		}
	}
	if f.open != 0 {
		t.Errorf("%d trees not closed", f.open)
	}
	if left, _ := os.ReadDir(f.dir); len(left) > 0 {
		t.Errorf("trees left: %d", len(left))
	}
}

// waitGroup waits for wg, failing the test after a generous time.
func waitGroup(t *testing.T, wg *sync.WaitGroup, who string) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Errorf("%s: waited a minute for modules built side by side", who)
	}
}

// TestPipelineParentSquashFails: when a layer's squash fails after its
// children built over its tree, the error names it, the children's layers
// are not renamed into place, nothing temporary stays in Out and every
// tree is closed.
func TestPipelineParentSquashFails(t *testing.T) {
	h, _ := loadGood(t, nil)
	out := t.TempDir()
	f := &fakeTrees{t: t, dir: t.TempDir(), failSquash: "essential"}
	var kids sync.WaitGroup
	kids.Add(2)
	f.onTree = func(name string) {
		if name == "conf" || name == "console" {
			kids.Done()
		}
	}
	f.beforeSq = func(name string) {
		if name == "essential" {
			waitGroup(t, &kids, name)
		}
	}
	b := &Builder{Hierarchy: h, Maker: f, Out: out, Jobs: 2}
	res, err := b.Build(context.Background())
	if err == nil || !strings.HasPrefix(err.Error(), "module essential:") {
		t.Fatalf("Build: %v, want an error naming essential", err)
	}
	var got []string
	for _, r := range res {
		got = append(got, r.Module.Name)
	}
	if !slices.Equal(got, []string{"base"}) {
		t.Errorf("results %v, want [base]", got)
	}
	if files := outFiles(t, out); !slices.Equal(files, []string{"base.json", "base.sqfs"}) {
		t.Errorf("out holds %v, want base's layer alone", files)
	}
	if f.open != 0 {
		t.Errorf("%d trees not closed", f.open)
	}
}
