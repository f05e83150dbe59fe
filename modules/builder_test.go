package modules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/verity"
)

// fakeMaker writes "layer NAME" to dst and records what it was asked.
type fakeMaker struct {
	t      *testing.T
	made   []string            // module names, in order
	args   map[string][]string // name → parents
	fail   string              // a module whose Make fails after writing part of dst
	onMake func(name string)   // called before writing, if set
}

func (f *fakeMaker) Make(ctx context.Context, m *Module, parents []string, dst string) (layers.Meta, error) {
	if f.onMake != nil {
		f.onMake(m.Name)
	}
	for _, p := range parents {
		if _, err := os.Stat(p); err != nil {
			f.t.Errorf("Make(%s): parent layer %s: %v", m.Name, p, err)
		}
	}
	if f.args == nil {
		f.args = map[string][]string{}
	}
	f.made = append(f.made, m.Name)
	f.args[m.Name] = parents
	if err := os.WriteFile(dst, []byte("layer "+m.Name), 0o644); err != nil {
		return layers.Meta{}, err
	}
	if m.Name == f.fail {
		return layers.Meta{}, errors.New("mksquashfs exploded")
	}
	return layers.Meta{Name: "ignored", Pruned: layers.Pruned{Files: 2, Bytes: 20}}, nil
}

func newBuilder(t *testing.T, h *Hierarchy, out string) (*Builder, *fakeMaker) {
	f := &fakeMaker{t: t}
	return &Builder{Hierarchy: h, Maker: f, Out: out}, f
}

// outFiles lists the names in out, sorted.
func outFiles(t *testing.T, out string) []string {
	t.Helper()
	es, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var ns []string
	for _, e := range es {
		ns = append(ns, e.Name())
	}
	sort.Strings(ns)
	return ns
}

func TestBuild(t *testing.T) {
	h, dir := loadGood(t, nil)
	out := filepath.Join(t.TempDir(), "out")
	b, f := newBuilder(t, h, out)
	var reported []string
	b.Report = func(r Result) { reported = append(reported, fmt.Sprintf("%s %v", r.Module.Name, r.Cached)) }

	rs, err := b.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"base", "essential", "conf", "console", "extra"}
	if diff := cmp.Diff(all, f.made); diff != "" {
		t.Errorf("made (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{filepath.Join(out, "base.sqfs"), filepath.Join(out, "base-essential.sqfs"),
		filepath.Join(out, "base-essential-conf.sqfs")}, f.args["extra"]); diff != "" {
		t.Errorf("parents of extra (-want +got):\n%s", diff)
	}
	if len(f.args["base"]) != 0 {
		t.Errorf("parents of base = %v, want none", f.args["base"])
	}
	if diff := cmp.Diff([]string{"base false", "essential false", "conf false", "console false", "extra false"}, reported); diff != "" {
		t.Errorf("reported (-want +got):\n%s", diff)
	}
	wantFiles := []string{
		"base-essential-conf-extra.json", "base-essential-conf-extra.sqfs", "base-essential-conf.json", "base-essential-conf.sqfs",
		"base-essential-console.json", "base-essential-console.sqfs", "base-essential.json", "base-essential.sqfs",
		"base.json", "base.sqfs"}
	if diff := cmp.Diff(wantFiles, outFiles(t, out)); diff != "" {
		t.Errorf("out (-want +got):\n%s", diff)
	}

	// The metadata beside the console layer.
	r := rs[3]
	key, _ := h.Key("console", layers.DefaultCompression)
	// The maker's bytes, padded to two blocks, then their dm-verity tree.
	sqfs := filepath.Join(out, "base-essential-console.sqfs")
	content, _ := os.ReadFile(sqfs)
	if len(content) != 3*verity.BlockSize || !strings.HasPrefix(string(content), "layer console\x00") {
		t.Errorf("console layer: %d bytes %q…, want the maker's, padded, and a one-block tree", len(content), content[:min(len(content), 20)])
	}
	sum := sha256.Sum256(content)
	var onDisk layers.Meta
	data, err := os.ReadFile(filepath.Join(out, "base-essential-console.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &onDisk); err != nil {
		t.Fatal(err)
	}
	want := layers.Meta{
		Name: "console", Parent: "essential", Chain: []string{"base", "essential", "console"},
		File: "base-essential-console.sqfs", Key: key, Digest: "sha256:" + hex.EncodeToString(sum[:]),
		Size: int64(len(content)), Compression: layers.DefaultCompression, Built: r.Meta.Built, Seconds: r.Meta.Seconds,
		Pruned: layers.Pruned{Files: 2, Bytes: 20}, Verity: onDisk.Verity,
	}
	if onDisk.Verity == nil {
		t.Error("console json has no verity data")
	} else if err := verity.Check(onDisk.Verity, sqfs); err != nil {
		t.Error(err)
	}
	if diff := cmp.Diff(want, onDisk); diff != "" {
		t.Errorf("console json (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, r.Meta); diff != "" {
		t.Errorf("console Result.Meta (-want +got):\n%s", diff)
	}
	if r.Path != filepath.Join(out, "base-essential-console.sqfs") || r.Cached || r.Meta.Built.Location().String() != "UTC" {
		t.Errorf("console Result: path %s cached %v built %v", r.Path, r.Cached, r.Meta.Built)
	}

	// Again: all cached, nothing made.
	b2, f2 := newBuilder(t, reload(t, dir, nil), out)
	rs, err = b2.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(f2.made) != 0 {
		t.Errorf("second build made %v, want nothing", f2.made)
	}
	for _, r := range rs {
		if !r.Cached || r.Meta.Key == "" {
			t.Errorf("second build: %s cached %v key %q", r.Module.Name, r.Cached, r.Meta.Key)
		}
	}
	if len(rs) != 5 {
		t.Errorf("second build: %d results, want 5", len(rs))
	}
}

func TestBuildRebuilds(t *testing.T) {
	tests := []struct {
		name  string
		edits map[string]string
		force bool
		comp  string
		want  []string
	}{
		{"run step of essential", map[string]string{"essential.yaml": "name: essential\nparent: base\npackages: [less]\nrun: [true]\n"},
			false, "", []string{"essential", "console", "extra"}},
		{"run step of console", map[string]string{"console.yaml": "name: console\nparent: essential\nrun: [echo bye]\n"},
			false, "", []string{"console"}},
		{"base tree", map[string]string{"rootfs/etc/hostname": "x\n"},
			false, "", []string{"base", "essential", "console", "extra"}},
		{"force", nil, true, "", []string{"base", "essential", "conf", "console", "extra"}},
		{"compression", nil, false, "xz", []string{"base", "essential", "conf", "console", "extra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, dir := loadGood(t, nil)
			out := t.TempDir()
			b, _ := newBuilder(t, h, out)
			if _, err := b.Build(context.Background()); err != nil {
				t.Fatal(err)
			}
			b, f := newBuilder(t, reload(t, dir, tt.edits), out)
			b.Force, b.Compression = tt.force, tt.comp
			rs, err := b.Build(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, f.made); diff != "" {
				t.Errorf("made (-want +got):\n%s", diff)
			}
			if len(rs) != 5 {
				t.Errorf("%d results, want 5", len(rs))
			}
		})
	}
}

func TestBuildFails(t *testing.T) {
	h, _ := loadGood(t, nil)
	out := t.TempDir()
	b, f := newBuilder(t, h, out)
	f.fail = "console"
	rs, err := b.Build(context.Background(), "extra", "console")
	if err == nil || !strings.Contains(err.Error(), "module console: mksquashfs exploded") {
		t.Fatalf("Build = %v, want an error naming console", err)
	}
	if len(rs) != 3 {
		t.Errorf("%d results before the failure, want 3 (base, essential, conf)", len(rs))
	}
	for _, n := range outFiles(t, out) {
		if strings.Contains(n, "console") || strings.Contains(n, "tmp") || strings.Contains(n, "extra") {
			t.Errorf("left in out: %s", n)
		}
	}
	if st, _, _ := b.State("console"); st != Missing {
		t.Errorf("State(console) = %v, want missing", st)
	}
}

func TestBuildCancel(t *testing.T) {
	h, _ := loadGood(t, nil)
	b, f := newBuilder(t, h, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	f.onMake = func(name string) {
		if name == "essential" {
			cancel()
		}
	}
	rs, err := b.Build(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Build = %v, want context.Canceled", err)
	}
	if diff := cmp.Diff([]string{"base", "essential"}, f.made); diff != "" {
		t.Errorf("made (-want +got):\n%s", diff)
	}
	if len(rs) != 2 {
		t.Errorf("%d results, want 2", len(rs))
	}
	f.made = nil
	if _, err := b.Build(ctx); !errors.Is(err, context.Canceled) || len(f.made) != 0 {
		t.Errorf("Build(cancelled ctx) = %v and made %v, want context.Canceled and nothing", err, f.made)
	}
}

func TestState(t *testing.T) {
	h, dir := loadGood(t, nil)
	out := t.TempDir()
	b, _ := newBuilder(t, h, out)
	check := func(b *Builder, name string, want State) {
		t.Helper()
		st, meta, err := b.State(name)
		if err != nil || st != want {
			t.Errorf("State(%s) = %v, %v; want %v", name, st, err, want)
		}
		if want == Built && meta.Name != name {
			t.Errorf("State(%s) meta name %q", name, meta.Name)
		}
	}
	check(b, "console", Missing)
	if _, err := b.Build(context.Background(), "console"); err != nil {
		t.Fatal(err)
	}
	check(b, "console", Built)
	check(b, "conf", Missing)
	b, _ = newBuilder(t, reload(t, dir, map[string]string{"rootfs/etc/hostname": "x\n"}), out)
	check(b, "console", Stale)
	if err := os.Remove(filepath.Join(out, "base.json")); err != nil {
		t.Fatal(err)
	}
	b, _ = newBuilder(t, reload(t, dir, map[string]string{"rootfs/etc/hostname": "base\n"}), out)
	check(b, "essential", Built)
	check(b, "base", Stale) // a layer without its metadata
	if _, _, err := (&Builder{Hierarchy: h, Out: out, Compression: "bzip"}).State("base"); err == nil {
		t.Error("State with compression bzip succeeded")
	}
	if got := fmt.Sprint(Missing, Stale, Built); got != "missing stale built" {
		t.Errorf("State strings = %q", got)
	}
}
