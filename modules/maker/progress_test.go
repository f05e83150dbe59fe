package maker

import (
	"context"
	"sync"
	"testing"

	"github.com/mode-build/mode/modules"
)

// TestFractionOfSquash builds examples/tiny with a Fraction callback: every
// layer's squash phase tells its progress, up to done == total (0 of 0 for a layer too quick for a bar), and only
// after Progress told that phase.
func TestFractionOfSquash(t *testing.T) {
	requireRoot(t)
	h, err := modules.Load(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	phase := map[string]string{}
	last := map[string][2]int{}
	mk := &Maker{Scratch: t.TempDir(),
		Progress: func(module, p string) {
			mu.Lock()
			defer mu.Unlock()
			phase[module] = p
		},
		Fraction: func(module, p string, done, total int) {
			mu.Lock()
			defer mu.Unlock()
			if p != "squash" || phase[module] != p {
				t.Errorf("%s: fraction of %q in phase %q", module, p, phase[module])
			}
			last[module] = [2]int{done, total}
		}}
	b := &modules.Builder{Hierarchy: h, Out: t.TempDir(), Maker: mk}
	res, err := b.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		l, ok := last[r.Module.Name]
		if !ok || l[0] != l[1] {
			t.Errorf("%s: last squash fraction %v (told: %v), want done == total", r.Module.Name, l, ok)
		}
	}
	if len(last) != len(tinyFiles) {
		t.Errorf("fractions of %d layers, want %d", len(last), len(tinyFiles))
	}
}
