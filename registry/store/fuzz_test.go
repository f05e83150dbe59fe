package store_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/mode-build/mode/layers"
	. "github.com/mode-build/mode/registry/store"
)

// FuzzChainManifest feeds mutated chain manifests and configs to the
// decoders a pull runs on what a registry sends: they accept a chain whose
// layer file names are plain names and whose digests match, or fail with
// ErrNotChain, never panic.
func FuzzChainManifest(f *testing.F) {
	d := func(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }
	c := &Chain{Name: "base-console", Parent: digest.Digest(d('9')), Layers: []layers.Meta{
		{Name: "base", File: "base.sqfs", Digest: d('a'), Size: 4096, Chain: []string{"base"}},
		{Name: "console", File: "base-console.sqfs", Digest: d('b'), Size: 8192, Chain: []string{"base", "console"},
			ParentDigests: []string{d('a')}},
	}}
	cfg, err := json.Marshal(c)
	if err != nil {
		f.Fatal(err)
	}
	for _, at := range []bool{true, false} {
		m, err := ChainManifest(c, cfg, at)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(m, cfg)
	}
	f.Add([]byte(`{"layers":[{"mediaType":"`+LayerMediaType+`","annotations":{"org.opencontainers.image.title":"../x"}}]}`), []byte(`{}`))
	f.Fuzz(func(t *testing.T, manifest, config []byte) {
		m, err := ParseChainManifest(manifest)
		if err != nil {
			if !errors.Is(err, ErrNotChain) {
				t.Fatalf("manifest error %v is not ErrNotChain", err)
			}
			return
		}
		for i, l := range m.Layers {
			if err := CheckFileName(l.Annotations[AnnotationTitle]); err != nil {
				t.Fatalf("layer %d accepted with %v", i, err)
			}
		}
		ch, err := ParseChainConfig(config, m)
		if err != nil {
			if !errors.Is(err, ErrNotChain) {
				t.Fatalf("config error %v is not ErrNotChain", err)
			}
			return
		}
		for i, l := range ch.Layers {
			if l.Digest != string(m.Layers[i].Digest) {
				t.Fatalf("layer %d: config digest %s accepted against %s", i, l.Digest, m.Layers[i].Digest)
			}
		}
	})
}
