package store

import (
	"testing"

	"github.com/mode-build/mode/layers"
)

// TestLayerAnnotations: a layer descriptor carries its compression and its
// dm-verity root hash and tree offset, so crane and oras users see them
// without the config; a layer without verity has no verity annotations.
func TestLayerAnnotations(t *testing.T) {
	d := "sha256:" + "ab0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"[:64]
	c := &Chain{Name: "base-x", Layers: []layers.Meta{
		{Name: "base", File: "base.sqfs", Digest: d, Size: 10, Compression: "zstd:9",
			Verity: &layers.Verity{RootHash: "00ff", HashOffset: 8192}},
		{Name: "x", File: "base-x.sqfs", Digest: d, Size: 10, Compression: "xz"},
	}}
	raw, err := ChainManifest(c, []byte("{}"), true)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseChainManifest(raw)
	if err != nil {
		t.Fatal(err)
	}
	a0, a1 := m.Layers[0].Annotations, m.Layers[1].Annotations
	if a0[AnnotationCompression] != "zstd:9" || a0[AnnotationVerityRootHash] != "00ff" || a0[AnnotationVerityOffset] != "8192" {
		t.Errorf("base annotations %v", a0)
	}
	if _, ok := a1[AnnotationVerityRootHash]; ok || a1[AnnotationCompression] != "xz" {
		t.Errorf("x annotations %v", a1)
	}
}
