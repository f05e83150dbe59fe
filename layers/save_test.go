package layers

import (
	"slices"
	"testing"
)

// TestSavedMeta: a saved layer records its parents' chain and digests, and
// their architecture (an arm64 system saves an arm64 layer, not one taken
// for amd64); a bad name or a parent without a digest is refused.
func TestSavedMeta(t *testing.T) {
	parents := []Meta{
		{Name: "base", File: "base.sqfs", Digest: "sha256:b", Architecture: "arm64"},
		{Name: "extra", File: "base-extra.sqfs", Digest: "sha256:e", Architecture: "arm64"},
	}
	m, err := SavedMeta(parents, "mine")
	if err != nil {
		t.Fatal(err)
	}
	if m.File != "base-extra-mine.sqfs" || m.Parent != "extra" || !slices.Equal(m.Chain, []string{"base", "extra", "mine"}) ||
		!slices.Equal(m.ParentDigests, []string{"sha256:b", "sha256:e"}) {
		t.Errorf("saved meta %+v", m)
	}
	if m.Arch() != "arm64" {
		t.Errorf("saved on arm64 layers: architecture %q, want arm64", m.Arch())
	}
	parents[0].Architecture, parents[1].Architecture = "", ""
	if m, _ := SavedMeta(parents, "mine"); m.Architecture != "" {
		t.Errorf("saved on amd64 layers: architecture %q, want none (amd64)", m.Architecture)
	}
	if _, err := SavedMeta(parents, "my-layer"); err == nil {
		t.Error("a name with '-' was taken")
	}
	parents[1].Digest = ""
	if _, err := SavedMeta(parents, "mine"); err == nil {
		t.Error("a parent without a digest was taken")
	}
}
