package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/store"
	"github.com/opencontainers/go-digest"
)

// TestBuildStores: mode build adds each chain to the local store, tagged
// with its module's name, its layers the very bytes of the output files; a
// second build stores nothing again.
func TestBuildStores(t *testing.T) {
	testutil.RequiresRoot(t)
	out, dir := t.TempDir(), t.TempDir()
	first, err := modeCmd("build", "--dir", "../../examples/tiny", "--out", out, "--store", dir).Output()
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if n := strings.Count(string(first), "stored "); n != 4 {
		t.Errorf("first build stored %d chains, want 4:\n%s", n, first)
	}
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, _, _, err := s.Chain("tiny", "console")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range c.Layers {
		names = append(names, l.File)
		blob, err := os.ReadFile(s.BlobPath(digest.Digest(l.Digest)))
		if err != nil {
			t.Fatal(err)
		}
		file, _ := os.ReadFile(filepath.Join(out, l.File))
		if !bytes.Equal(blob, file) {
			t.Errorf("%s: the stored blob differs from the output file", l.File)
		}
	}
	if got := strings.Join(names, " "); got != "base.sqfs base-essential.sqfs base-essential-console.sqfs" {
		t.Errorf("console's chain in the store: %s", got)
	}
	second, err := modeCmd("build", "--dir", "../../examples/tiny", "--out", out, "--store", dir).Output()
	if err != nil || strings.Contains(string(second), "stored ") {
		t.Errorf("second build: %v\n%s", err, second)
	}
}
