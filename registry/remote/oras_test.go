package remote_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/registry/store"
)

// TestOras: oras (oras-go, a third OCI implementation) reads the store as an
// OCI layout and pulls a chain from mode serve; either way it writes each
// layer under its MoDe file name (the title annotation), bit-identical.
func TestOras(t *testing.T) {
	oras := registrytest.Tool(t, "oras")
	src, ls := registrytest.Store(t, []string{"base", "top"}, 64<<10)
	_, _, want, err := src.Chain(registrytest.Repo, "top")
	if err != nil {
		t.Fatal(err)
	}
	raw := registrytest.Run(t, oras, "manifest", "fetch", "--oci-layout-path", src.Dir(), registrytest.Repo+":top")
	if got := digest.FromBytes([]byte(raw)); got != want {
		t.Errorf("oras manifest fetch: digest %s, want %s", got, want)
	}
	if !strings.Contains(raw, store.ArtifactType) {
		t.Errorf("oras sees no artifactType %s in:\n%s", store.ArtifactType, raw)
	}
	check := func(dir string) {
		t.Helper()
		for _, l := range ls {
			registrytest.SameFile(t, l.Path, filepath.Join(dir, l.Meta.File))
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != len(ls) {
			t.Errorf("oras wrote %d files in %s, want %d", len(entries), dir, len(ls))
		}
	}
	fromLayout := t.TempDir()
	registrytest.Run(t, oras, "pull", "--oci-layout-path", src.Dir(), registrytest.Repo+":top", "-o", fromLayout)
	check(fromLayout)

	host := registrytest.Serve(t, src)
	fromServe := t.TempDir()
	registrytest.Run(t, oras, "pull", "--plain-http", host+"/"+registrytest.Repo+":top", "-o", fromServe)
	check(fromServe)
}
