package registry

import (
	"context"
	"path/filepath"
	"testing"
)

func TestPushPull(t *testing.T) {
	ctx := context.Background()
	s, ls := testStore(t, []string{"base", "mid", "top"}, 0)
	host := memRegistry(t)
	d, err := Push(ctx, s, "top", host+"/mode/chains")
	if err != nil {
		t.Fatal(err)
	}
	_, _, want, err := s.Chain("top")
	if err != nil {
		t.Fatal(err)
	}
	if d != want {
		t.Errorf("pushed digest %s, store has %s", d, want)
	}
	for _, ref := range []string{host + "/mode/chains:top", host + "/mode/chains@" + d} {
		t.Run(ref, func(t *testing.T) {
			out := t.TempDir()
			s2, err := OpenStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			c, got, err := Pull(ctx, ref, out, WithStore(s2))
			if err != nil {
				t.Fatal(err)
			}
			if got != d || c.Name != "top" || len(c.Layers) != 3 {
				t.Fatalf("pulled %s %q with %d layers, want %s top with 3", got, c.Name, len(c.Layers), d)
			}
			for _, l := range ls {
				sameFile(t, l.Path, filepath.Join(out, l.Meta.File))
			}
			if _, _, sd, err := s2.Chain("top"); err != nil || sd != d {
				t.Errorf("store after pull: %s, %v; want %s", sd, err, d)
			}
		})
	}
}
