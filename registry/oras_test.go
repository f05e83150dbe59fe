package registry

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOras: oras (oras-go, a third OCI implementation) reads the store as an
// OCI layout and pulls a chain from mode serve; either way it writes each
// layer under its MoDe file name (the title annotation), bit-identical.
func TestOras(t *testing.T) {
	oras := tool(t, "oras")
	src, ls := testStore(t, []string{"base", "top"}, 64<<10)
	_, _, want, err := src.Chain("top")
	if err != nil {
		t.Fatal(err)
	}
	raw := run(t, oras, "manifest", "fetch", "--oci-layout", src.Dir()+":top")
	if got := digestBytes([]byte(raw)); got != want {
		t.Errorf("oras manifest fetch: digest %s, want %s", got, want)
	}
	if !strings.Contains(raw, ArtifactType) {
		t.Errorf("oras sees no artifactType %s in:\n%s", ArtifactType, raw)
	}
	check := func(dir string) {
		t.Helper()
		for _, l := range ls {
			sameFile(t, l.Path, filepath.Join(dir, l.Meta.File))
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != len(ls) {
			t.Errorf("oras wrote %d files in %s, want %d", len(entries), dir, len(ls))
		}
	}
	fromLayout := t.TempDir()
	run(t, oras, "pull", "--oci-layout", src.Dir()+":top", "-o", fromLayout)
	check(fromLayout)

	host := serveStore(t, src)
	fromServe := t.TempDir()
	run(t, oras, "pull", "--plain-http", host+"/mode:top", "-o", fromServe)
	check(fromServe)
}
