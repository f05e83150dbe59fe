package modules

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mode-build/mode/layers"
)

// TestBuildCompressionLevel: the compression's level is part of every key, so
// another level rebuilds every layer, the same compression written two ways
// ("" and "zstd" are "zstd:9") rebuilds none, and the metadata records the
// canonical form. Metadata of older layers ("zstd", level 15) still reads:
// such a layer is stale, rebuilt, not an error.
func TestBuildCompressionLevel(t *testing.T) {
	h, _ := loadGood(t, nil)
	out := filepath.Join(t.TempDir(), "out")
	all := []string{"base", "essential", "conf", "console", "extra"}
	build := func(comp string) []string {
		t.Helper()
		b, f := newBuilder(t, h, out)
		b.Compression = comp
		if _, err := b.Build(context.Background()); err != nil {
			t.Fatalf("compression %q: %v", comp, err)
		}
		return f.made
	}
	meta := func() layers.Meta {
		t.Helper()
		var m layers.Meta
		data, err := os.ReadFile(filepath.Join(out, "base-essential-console.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if diff := cmp.Diff(all, build("")); diff != "" {
		t.Errorf("first build made (-want +got):\n%s", diff)
	}
	if got := meta().Compression; got != "zstd:9" {
		t.Errorf("metadata compression = %q, want zstd:9", got)
	}
	if made := build("zstd"); len(made) != 0 {
		t.Errorf("zstd after the default rebuilt %v, want nothing (both are zstd:9)", made)
	}
	if diff := cmp.Diff(all, build("zstd:19")); diff != "" {
		t.Errorf("zstd:19 made (-want +got):\n%s", diff)
	}
	if got := meta().Compression; got != "zstd:19" {
		t.Errorf("metadata compression = %q, want zstd:19", got)
	}
	if made := build("zstd:19"); len(made) != 0 {
		t.Errorf("zstd:19 twice rebuilt %v", made)
	}

	// A layer of an older mode: compression "zstd" and a key salted with it.
	old := meta()
	k, err := h.Key("console", "zstd")
	if err != nil {
		t.Fatal(err)
	}
	old.Compression, old.Key = "zstd", k
	if err := layers.WriteMeta(filepath.Join(out, "base-essential-console.json"), old); err != nil {
		t.Fatal(err)
	}
	b, _ := newBuilder(t, h, out)
	if st, m, err := b.State("console"); err != nil || st != Stale || m.Compression != "zstd" {
		t.Errorf("old metadata: State = %v, %q, %v; want stale, zstd, no error", st, m.Compression, err)
	}
	if err := layers.CheckCompression(old.Compression); err != nil {
		t.Errorf("old metadata's compression: %v", err)
	}

	b.Compression = "zstd:23"
	if _, err := b.Build(context.Background()); err == nil {
		t.Error("zstd:23 built")
	}
}
