package remote_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/opencontainers/go-digest"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// TestInterop pushes to and pulls from the CNCF distribution registry, reads
// what we pushed with crane, pulls what crane pushed, and checks that the
// layers are bit-identical everywhere.
func TestInterop(t *testing.T) {
	ctx := context.Background()
	crane := registrytest.Tool(t, "crane")
	reg := registrytest.Distribution(t)
	src, ls := registrytest.Store(t, []string{"base", "mid", "top"}, 256<<10)
	_, m, storeDigest, err := src.Chain(registrytest.Repo, "top")
	if err != nil {
		t.Fatal(err)
	}

	d, err := remote.Push(ctx, registrytest.Source(t, src, "top"), reg+"/mode/chains")
	if err != nil {
		t.Fatal(err)
	}
	if d != storeDigest {
		t.Logf("distribution refused artifactType: manifest %s instead of %s", d, storeDigest)
	}

	t.Run("crane reads what we pushed", func(t *testing.T) {
		if tags := registrytest.Run(t, crane, "ls", reg+"/mode/chains"); strings.TrimSpace(tags) != "top" {
			t.Errorf("crane ls: %q, want top", tags)
		}
		raw := registrytest.Run(t, crane, "manifest", reg+"/mode/chains:top")
		if digest.FromBytes([]byte(raw)) != d {
			t.Errorf("crane manifest has digest %s, want %s", digest.FromBytes([]byte(raw)), d)
		}
		cm, err := store.ParseChainManifest([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		out := t.TempDir()
		for i, l := range cm.Layers {
			p := filepath.Join(out, l.Annotations[store.AnnotationTitle])
			blob := registrytest.Run(t, crane, "blob", reg+"/mode/chains@"+string(l.Digest))
			if err := os.WriteFile(p, []byte(blob), 0o644); err != nil {
				t.Fatal(err)
			}
			registrytest.SameFile(t, ls[i].Path, p)
		}
		var c store.Chain
		if err := json.Unmarshal([]byte(registrytest.Run(t, crane, "config", reg+"/mode/chains:top")), &c); err != nil || c.Name != "top" {
			t.Errorf("crane config: chain %q, %v", c.Name, err)
		}
	})

	t.Run("we pull what we pushed", func(t *testing.T) {
		s, err := store.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		out := t.TempDir()
		_, pd, err := remote.Pull(ctx, reg+"/mode/chains:top", out, remote.WithStore(s))
		if err != nil {
			t.Fatal(err)
		}
		if pd != d {
			t.Errorf("pulled %s, pushed %s", pd, d)
		}
		for i, l := range ls {
			registrytest.SameFile(t, l.Path, filepath.Join(out, l.Meta.File))
			registrytest.SameFile(t, l.Path, s.BlobPath(m.Layers[i].Digest))
		}
	})

	t.Run("resume against distribution", func(t *testing.T) {
		u, _ := url.Parse("http://" + reg)
		f := &faults{h: httputil.NewSingleHostReverseProxy(u), blob: string(m.Layers[2].Digest), cut: 1}
		proxy := httptest.NewServer(f)
		defer proxy.Close()
		out := t.TempDir()
		if _, _, err := remote.Pull(ctx, strings.TrimPrefix(proxy.URL, "http://")+"/mode/chains:top", out, fast); err != nil {
			t.Fatal(err)
		}
		registrytest.SameFile(t, ls[2].Path, filepath.Join(out, ls[2].Meta.File))
		gets, ranges := f.stats()
		if gets != 2 || !strings.HasPrefix(ranges[1], "bytes=") || ranges[1] == "bytes=0-" {
			t.Errorf("blob GETs %d with ranges %q; want a cut GET, then a resuming Range", gets, ranges)
		}
	})

	t.Run("second push uploads nothing", func(t *testing.T) {
		first := &byteCounter{}
		if _, err := remote.Push(ctx, registrytest.Source(t, src, "top"), reg+"/mode/again:top", remote.WithTransport(first)); err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, l := range m.Layers {
			total += l.Size
		}
		if n := first.uploaded(); n < total {
			t.Errorf("push to a new repository sent %d bytes, less than the %d of its layers", n, total)
		}
		counter := &byteCounter{}
		if _, err := remote.Push(ctx, registrytest.Source(t, src, "top"), reg+"/mode/chains", remote.WithTransport(counter)); err != nil {
			t.Fatal(err)
		}
		if n := counter.uploaded(); n > 4096 {
			t.Errorf("second push sent %d bytes; want only the manifest", n)
		}
	})

	t.Run("we pull what crane pushed", func(t *testing.T) {
		// A store with one chain is an OCI layout of one image, which crane pushes.
		one, _ := registrytest.Store(t, []string{"solo"}, 128<<10)
		_, _, want, err := one.Chain(registrytest.Repo, "solo")
		if err != nil {
			t.Fatal(err)
		}
		registrytest.Run(t, crane, "push", one.Dir(), reg+"/crane/pushed:solo")
		out := t.TempDir()
		c, pd, err := remote.Pull(ctx, reg+"/crane/pushed:solo", out)
		if err != nil {
			t.Fatal(err)
		}
		if pd != want {
			t.Errorf("crane pushed %s, store has %s", pd, want)
		}
		registrytest.SameFile(t, one.BlobPath(digest.Digest(c.Layers[0].Digest)), filepath.Join(out, c.Layers[0].File))
	})

	t.Run("mode serve round trip", func(t *testing.T) {
		served, err := store.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		host := registrytest.Serve(t, served, serve.WithPushToken("tok"))
		// distribution → our pull → our push → mode serve → crane and our pull.
		mid, err := store.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := remote.Pull(ctx, reg+"/mode/chains:top", "", remote.WithStore(mid)); err != nil {
			t.Fatal(err)
		}
		midSrc, err := mid.Source("mode/chains", "top")
		if err != nil {
			t.Fatal(err)
		}
		sd, err := remote.Push(ctx, midSrc, host+"/mode", remote.WithAuth(&authn.Bearer{Token: "tok"}))
		if err != nil {
			t.Fatal(err)
		}
		if sd != d {
			t.Errorf("mode serve has %s, distribution %s", sd, d)
		}
		if tags := registrytest.Run(t, crane, "ls", host+"/mode"); !strings.Contains(tags, "top") {
			t.Errorf("crane ls on mode serve: %q", tags)
		}
		if raw := registrytest.Run(t, crane, "manifest", host+"/mode:top"); digest.FromBytes([]byte(raw)) != d {
			t.Errorf("crane manifest on mode serve: digest %s, want %s", digest.FromBytes([]byte(raw)), d)
		}
		blob := registrytest.Run(t, crane, "blob", host+"/mode@"+string(m.Layers[2].Digest))
		if digest.FromBytes([]byte(blob)) != m.Layers[2].Digest {
			t.Errorf("crane blob on mode serve differs")
		}
		out := t.TempDir()
		if _, _, err := remote.Pull(ctx, host+"/mode:top", out); err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			registrytest.SameFile(t, l.Path, filepath.Join(out, l.Meta.File))
		}
		// crane copies from mode serve into distribution.
		registrytest.Run(t, crane, "copy", host+"/mode:top", reg+"/copied/chain:top")
		if raw := registrytest.Run(t, crane, "manifest", reg+"/copied/chain:top"); digest.FromBytes([]byte(raw)) != d {
			t.Errorf("crane copy changed the manifest")
		}
		// And back: mode push from a store to distribution, crane copy
		// into another repository of mode serve, which keeps both apart.
		back, err := store.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := remote.Pull(ctx, reg+"/copied/chain:top", "", remote.WithStore(back)); err != nil {
			t.Fatal(err)
		}
		backSrc, err := back.Source("copied/chain", "top")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := remote.Push(ctx, backSrc, reg+"/again/chain:top"); err != nil || got != d {
			t.Fatalf("push back to distribution: %s, %v; want %s", got, err, d)
		}
		dockerConfig(t, host, "mode", "tok") // crane's credentials for mode serve
		registrytest.Run(t, crane, "copy", reg+"/again/chain:top", host+"/back/again:top")
		if _, _, got, err := served.Chain("back/again", "top"); err != nil || got != d {
			t.Errorf("mode serve after the round trip: %s, %v; want %s", got, err, d)
		}
		if repos := registrytest.Run(t, crane, "catalog", host); repos != "back/again\nmode\n" {
			t.Errorf("crane catalog of mode serve: %q", repos)
		}
	})
}

// TestStoreIsOCILayout reads the store with go-containerregistry's layout package.
func TestStoreIsOCILayout(t *testing.T) {
	s, _ := registrytest.Store(t, []string{"base", "top"}, 0)
	p, err := layout.FromPath(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range im.Manifests {
		names = append(names, m.Annotations[store.AnnotationRefName])
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			rc, err := l.Compressed()
			if err != nil {
				t.Fatal(err)
			}
			rc.Close()
		}
	}
	if strings.Join(names, ",") != "test:base,test:top" {
		t.Errorf("layout ref names %v, want test:base,test:top", names)
	}
}

// TestSkopeo: skopeo (containers/image, another OCI implementation) reads
// the store, pushes a chain to mode serve with the push token as basic-auth
// password, and copies a chain from the distribution registry into an OCI
// layout that store.Open reads.
func TestSkopeo(t *testing.T) {
	testutil.RequiresTools(t, "skopeo")
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Fatalf("skopeo not found (run make deps): %v", err)
	}
	ctx := context.Background()
	src, ls := registrytest.Store(t, []string{"base", "top"}, 64<<10)
	_, m, want, err := src.Chain(registrytest.Repo, "top")
	if err != nil {
		t.Fatal(err)
	}
	raw := registrytest.Run(t, skopeo, "inspect", "--raw", "oci:"+src.Dir()+":test:top")
	if digest.FromBytes([]byte(raw)) != want {
		t.Errorf("skopeo inspect --raw: digest %s, want %s", digest.FromBytes([]byte(raw)), want)
	}

	served, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	host := registrytest.Serve(t, served, serve.WithPushToken("tok"))
	registrytest.Run(t, skopeo, "copy", "--dest-tls-verify=false", "--dest-creds", "mode:tok",
		"oci:"+src.Dir()+":test:top", "docker://"+host+"/sk:top")
	if _, _, got, err := served.Chain("sk", "top"); err != nil || got != want {
		t.Errorf("mode serve after skopeo copy: %s, %v; want %s", got, err, want)
	}
	for _, l := range m.Layers {
		registrytest.SameFile(t, src.BlobPath(l.Digest), served.BlobPath(l.Digest))
	}

	reg := registrytest.Distribution(t)
	if _, err := remote.Push(ctx, registrytest.Source(t, src, "top"), reg+"/mode/sk"); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	registrytest.Run(t, skopeo, "copy", "--src-tls-verify=false", "docker://"+reg+"/mode/sk:top", "oci:"+dir+":top")
	copied, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, _, got, err := copied.Chain(store.DefaultRepository, "top")
	if err != nil || got != want {
		t.Fatalf("layout written by skopeo: %s, %v; want %s", got, err, want)
	}
	for i, l := range ls {
		registrytest.SameFile(t, l.Path, copied.BlobPath(digest.Digest(c.Layers[i].Digest)))
	}
}
