package activate

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/squashfs"
)

// squashLayer squashes a tree holding /etc/NAME.conf (content) as the layer
// of chain (base first), labelled arch.
func squashLayer(t *testing.T, chain []string, content, arch string) store.Layer {
	t.Helper()
	name := chain[len(chain)-1]
	src := t.TempDir()
	write(t, filepath.Join(src, "etc", name+".conf"), content)
	file := filepath.Join(t.TempDir(), strings.Join(chain, "-")+".sqfs")
	if err := squashfs.Squash(context.Background(), src, file, "gzip"); err != nil {
		t.Fatal(err)
	}
	m := layers.Meta{Name: name, Chain: chain, File: filepath.Base(file), Compression: "gzip"}
	if arch != layers.DefaultArch {
		m.Architecture = arch
	}
	if len(chain) > 1 {
		m.Parent = chain[len(chain)-2]
	}
	return store.Layer{Path: file, Meta: m}
}

// TestActivateIndex: a tag of the booted registry that is an image index
// of chains, one per architecture (mode push --platform). activate takes
// the entry of the booted chain's architecture by itself (amd64's on an
// amd64 system, arm64's on an arm64 one); --platform naming another is
// refused before anything is pulled, naming both architectures; an index
// without the booted architecture is an error naming what it has. The
// two chains share their lower layers' bytes, so only the architecture
// tells them apart.
func TestActivateIndex(t *testing.T) {
	s := newSystem(t)
	ctx := context.Background()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	lower := []store.Layer{squashLayer(t, []string{"base"}, "base\n", "amd64"), squashLayer(t, []string{"base", "console"}, "console\n", "amd64")}
	chains := map[string][]store.Layer{}
	for _, arch := range []string{"amd64", "arm64"} {
		ls := append([]store.Layer(nil), lower...)
		for i := range ls {
			if arch != layers.DefaultArch {
				ls[i].Meta.Architecture = arch
			}
		}
		chains[arch] = append(ls, squashLayer(t, []string{"base", "console", "tools"}, "tools for "+arch+"\n", arch))
		if _, err := st.AddChainAs(ctx, registrytest.Repo, layers.ArchTag("tools", arch), "tools", chains[arch]); err != nil {
			t.Fatal(err)
		}
	}
	reg, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	host := registrytest.Serve(t, reg, serve.WithPushToken("tok"))
	auth := remote.WithAuth(&authn.Bearer{Token: "tok"})
	_, entries, err := remote.PushIndex(ctx, []remote.Source{registrytest.Source(t, st, "tools"), registrytest.Source(t, st, "tools-arm64")}, host+"/test:tools", auth)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := remote.PushIndex(ctx, []remote.Source{registrytest.Source(t, st, "tools-arm64")}, host+"/test:armonly", auth); err != nil {
		t.Fatal(err)
	}
	// The system booted host/test:console of arch: the chain's two lower layers.
	boot := func(arch string) {
		t.Helper()
		c, _, _, err := st.Chain(registrytest.Repo, layers.ArchTag("tools", arch))
		if err != nil {
			t.Fatal(err)
		}
		b := layers.Booted{Name: "base-console", Ref: host + "/test:console", Insecure: true, Layers: c.Layers[:2]}
		if err := writeJSON(layers.ChainFile(s.run), b); err != nil {
			t.Fatal(err)
		}
	}
	boot("amd64")
	snap := s.snapshot()
	_, err = Activate(ctx, "tools", Options{RunDir: s.run, Root: s.root, Platform: "arm64"})
	if !errors.Is(err, ErrOtherChain) || !strings.Contains(err.Error(), "it is for arm64, the booted chain base-console is for amd64") {
		t.Errorf("activate --platform arm64 on an amd64 system: %v", err)
	}
	_, err = Activate(ctx, "armonly", s.opts())
	if err == nil || !strings.Contains(err.Error(), "is an index of chains for arm64: none for amd64") {
		t.Errorf("activate of an arm64-only index on an amd64 system: %v", err)
	}
	if got := s.snapshot(); got != snap {
		t.Errorf("a refusal changed the system:\n%s\nwant\n%s", got, snap)
	}
	if left, _ := filepath.Glob(filepath.Join(layers.LayersDir(s.run), "*.sqfs")); len(left) != 0 {
		t.Errorf("a refusal pulled %v", left)
	}
	for i, arch := range []string{"amd64", "arm64"} {
		boot(arch)
		a, err := Activate(ctx, "tools", s.opts())
		if err != nil {
			t.Fatalf("activate tools on %s: %v", arch, err)
		}
		c, _, _, err := st.Chain(registrytest.Repo, layers.ArchTag("tools", arch))
		if err != nil {
			t.Fatal(err)
		}
		if want := c.Layers[2].Digest; a.Module.Meta.Arch() != arch || a.Module.Meta.Digest != want {
			t.Errorf("on %s: activated %s of %s, want %s", arch, a.Module.Meta.Digest, a.Module.Meta.Arch(), want)
		}
		if got, want := s.read("etc/tools.conf"), "tools for "+arch+"\n"; got != want {
			t.Errorf("on %s: /etc/tools.conf %q, want %q (index entry %s)", arch, got, want, entries[i])
		}
		if _, err := Deactivate(ctx, "tools", s.opts()); err != nil {
			t.Fatal(err)
		}
	}
}
