package site_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/registry/store"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestPageArchitectures: a tag naming an image index of a chain's
// architectures (mode push --platform) shows the chain and its
// architectures on the page and in the API, not "not a mode chain".
func TestPageArchitectures(t *testing.T) {
	f := newFixture(t)
	ls := registrytest.Chain(t, []string{"base", "console"}, 0)
	for i := range ls {
		ls[i].Meta.Architecture = "arm64"
	}
	arm, err := f.store.AddChainAs(context.Background(), "tiny", "console-arm64", "console", ls)
	if err != nil {
		t.Fatal(err)
	}
	_, _, amd, err := f.store.Chain("tiny", "console")
	if err != nil {
		t.Fatal(err)
	}
	entry := func(d string, arch string) ocispec.Descriptor {
		raw, err := f.store.ReadBlob(digest.Digest(d))
		if err != nil {
			t.Fatal(err)
		}
		return ocispec.Descriptor{MediaType: store.ManifestMediaType, Digest: digest.Digest(d), Size: int64(len(raw)),
			Platform: &ocispec.Platform{OS: "linux", Architecture: arch}}
	}
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: store.IndexMediaType,
		Manifests:   []ocispec.Descriptor{entry(amd.String(), "amd64"), entry(arm.String(), "arm64")},
		Annotations: map[string]string{store.AnnotationChain: "console"}}
	raw, _ := json.Marshal(idx)
	if _, err := f.store.PutManifest("tiny", "multi", raw, store.IndexMediaType); err != nil {
		t.Fatal(err)
	}
	_, page := get(t, f.url+"/")
	if !strings.Contains(page, `multi</a></td><td>console <span class="arch">(amd64, arm64)</span>`) {
		t.Errorf("page does not show the index's architectures:\n%s", page)
	}
	if !strings.Contains(page, `console-arm64</a></td><td>console <span class="arch">(arm64)</span>`) {
		t.Errorf("page does not show the arm64 chain's architecture:\n%s", page)
	}
	_, api := get(t, f.url+"/api/repositories")
	if !strings.Contains(strings.Join(strings.Fields(api), ""), `"architectures":["amd64","arm64"]`) {
		t.Errorf("API does not list the index's architectures:\n%s", api)
	}
}
