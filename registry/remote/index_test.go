package remote_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/store"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// archStore returns a store with the chain base-top for amd64 (tag top)
// and for arm64 (tag top-arm64, its layers' metadata saying arm64).
func archStore(t *testing.T) *store.Store {
	t.Helper()
	s, _ := registrytest.Store(t, []string{"base", "top"}, 32<<10)
	ls := registrytest.Chain(t, []string{"base", "top"}, 32<<10)
	for i := range ls {
		ls[i].Meta.Architecture = "arm64"
	}
	if _, err := s.AddChainAs(context.Background(), registrytest.Repo, "top-arm64", "top", ls); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestIndexInterop: PushIndex makes one tag for both architectures in the
// CNCF distribution registry; crane and oras read the index and each entry
// with its platform, skopeo copies the whole index (--all) into an OCI layout, and
// Pull picks the entry of the architecture asked, or says which it lacks.
func TestIndexInterop(t *testing.T) {
	ctx := context.Background()
	crane := registrytest.Tool(t, "crane")
	reg := registrytest.Distribution(t)
	s := archStore(t)
	_, _, amd, err := s.Chain(registrytest.Repo, "top")
	if err != nil {
		t.Fatal(err)
	}
	_, _, arm, err := s.Chain(registrytest.Repo, "top-arm64")
	if err != nil {
		t.Fatal(err)
	}
	ref := reg + "/mode/multi:top"
	idx, entries, err := remote.PushIndex(ctx, []remote.Source{registrytest.Source(t, s, "top"), registrytest.Source(t, s, "top-arm64")}, ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0] != amd || entries[1] != arm {
		t.Errorf("entries %v, want [%s %s]", entries, amd, arm)
	}

	raw := registrytest.Run(t, crane, "manifest", ref)
	if digest.FromBytes([]byte(raw)) != idx {
		t.Errorf("crane manifest: digest %s, want the index %s", digest.FromBytes([]byte(raw)), idx)
	}
	var index ocispec.Index
	if err := json.Unmarshal([]byte(raw), &index); err != nil {
		t.Fatal(err)
	}
	var plats []string
	for _, e := range index.Manifests {
		plats = append(plats, e.Platform.OS+"/"+e.Platform.Architecture+"="+string(e.Digest))
	}
	if got, want := strings.Join(plats, " "), "linux/amd64="+string(amd)+" linux/arm64="+string(arm); got != want {
		t.Errorf("index entries %s, want %s", got, want)
	}
	if d := strings.TrimSpace(registrytest.Run(t, crane, "digest", "--platform", "linux/arm64", ref)); d != string(arm) {
		t.Errorf("crane digest --platform linux/arm64: %s, want %s", d, arm)
	}

	oras := registrytest.Tool(t, "oras")
	if d := digest.FromBytes([]byte(registrytest.Run(t, oras, "manifest", "fetch", "--plain-http", ref))); d != idx {
		t.Errorf("oras manifest fetch: digest %s, want the index %s", d, idx)
	}
	if d := digest.FromBytes([]byte(registrytest.Run(t, oras, "manifest", "fetch", "--plain-http", "--platform", "linux/arm64", ref))); d != arm {
		t.Errorf("oras manifest fetch --platform linux/arm64: digest %s, want %s", d, arm)
	}

	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Fatalf("skopeo not found (run make deps): %v", err)
	}
	layout := filepath.Join(t.TempDir(), "layout")
	registrytest.Run(t, skopeo, "copy", "--all", "--src-tls-verify=false", "docker://"+ref, "oci:"+layout+":top")
	copied, err := store.Open(layout)
	if err != nil {
		t.Fatal(err)
	}
	if desc, err := copied.Resolve(store.DefaultRepository, "top"); err != nil || desc.Digest != idx {
		t.Errorf("skopeo's layout: top is %s, %v; want the index %s", desc.Digest, err, idx)
	}

	for _, tt := range []struct {
		arch string
		want digest.Digest
	}{{"amd64", amd}, {"arm64", arm}} {
		c, d, err := remote.Pull(ctx, ref, t.TempDir(), remote.WithPlatform(tt.arch))
		if err != nil {
			t.Fatalf("Pull %s: %v", tt.arch, err)
		}
		if d != tt.want || c.Layers[1].Arch() != tt.arch {
			t.Errorf("Pull %s: %s of %s, want %s", tt.arch, d, c.Layers[1].Arch(), tt.want)
		}
	}
	if _, _, err := remote.PushIndex(ctx, []remote.Source{registrytest.Source(t, s, "top-arm64")}, reg+"/mode/multi:armonly"); err != nil {
		t.Fatal(err)
	}
	_, _, err = remote.Pull(ctx, reg+"/mode/multi:armonly", t.TempDir(), remote.WithPlatform("amd64"))
	if err == nil || !strings.Contains(err.Error(), "is an index of chains for arm64: none for amd64") {
		t.Errorf("Pull amd64 of an arm64-only index: %v", err)
	}
}
