package modeinit

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mode-build/mode/layers"
)

// TestChainJSON: what the init writes is what mode save reads
// (layers.ReadBooted), insecure only for a registry boot.
func TestChainJSON(t *testing.T) {
	dir := t.TempDir()
	metas := []layers.Meta{{Name: "base", Chain: []string{"base"}, File: "base.sqfs", Digest: "sha256:b1", Size: 10}}
	for _, tc := range []struct {
		name string
		p    params
		want bool
	}{
		{"registry", params{ref: "10.0.2.2:5000/mode:tiny", insecure: true}, true},
		{"local media", params{from: "/dev/vda", insecure: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &boot{p: tc.p, dl: &download{name: "top module", ref: tc.p.ref, digest: "sha256:d", metas: metas}}
			if err := writeBooted(filepath.Join(dir, "chain.json"), b.booted()); err != nil {
				t.Fatal(err)
			}
			got, err := layers.ReadBooted(dir)
			if err != nil {
				t.Fatal(err)
			}
			want := &layers.Booted{Name: "base", Ref: tc.p.ref, Digest: "sha256:d", Insecure: tc.want, Layers: metas}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("chain.json (-want +got):\n%s", d)
			}
		})
	}
}
