package modeinit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mode-build/mode/layers"
)

// TestChainKey: one key per chain of layers, the same from a registry or
// local media, another when a layer differs or is left out; a layer without
// a digest is hashed.
func TestChainKey(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "base.sqfs"), []byte("base bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := layers.Meta{File: "base.sqfs", Digest: "sha256:b1"}
	ess := layers.Meta{File: "base-essential.sqfs", Digest: "sha256:e1"}
	key := func(ms ...layers.Meta) string {
		t.Helper()
		k, err := chainKey(&download{metas: ms, dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if len(k) != 64 {
			t.Fatalf("key %q: want 64 hex digits", k)
		}
		return k
	}
	same := key(base, ess)
	if got := key(layers.Meta{File: "other-name.sqfs", Digest: "sha256:b1"}, ess); got != same {
		t.Errorf("the same digests under other names gave another key: %s, %s", got, same)
	}
	for name, k := range map[string]string{
		"a rebuilt layer":  key(base, layers.Meta{File: "base-essential.sqfs", Digest: "sha256:e2"}),
		"a layer left out": key(base),
		"a hashed base":    key(layers.Meta{File: "base.sqfs"}, ess),
	} {
		if k == same {
			t.Errorf("%s: same key as the chain", name)
		}
	}
	// The hashed base is the file's own digest: the same key as when recorded.
	d, _, err := layers.FileDigest(filepath.Join(dir, "base.sqfs"))
	if err != nil {
		t.Fatal(err)
	}
	if key(layers.Meta{File: "base.sqfs"}, ess) != key(layers.Meta{File: "base.sqfs", Digest: d}, ess) {
		t.Error("a hashed layer's key differs from the key with its digest recorded")
	}
}
