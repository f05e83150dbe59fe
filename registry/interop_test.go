package registry

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
)

// TestInterop pushes to and pulls from the CNCF distribution registry, reads
// what we pushed with crane, pulls what crane pushed, and checks that the
// layers are bit-identical everywhere.
func TestInterop(t *testing.T) {
	ctx := context.Background()
	crane := tool(t, "crane")
	reg := distribution(t)
	src, ls := testStore(t, []string{"base", "mid", "top"}, 256<<10)
	_, m, storeDigest, err := src.Chain("top")
	if err != nil {
		t.Fatal(err)
	}

	d, err := Push(ctx, src, "top", reg+"/mode/chains")
	if err != nil {
		t.Fatal(err)
	}
	if d != storeDigest {
		t.Logf("distribution refused artifactType: manifest %s instead of %s", d, storeDigest)
	}

	t.Run("crane reads what we pushed", func(t *testing.T) {
		if tags := run(t, crane, "ls", reg+"/mode/chains"); strings.TrimSpace(tags) != "top" {
			t.Errorf("crane ls: %q, want top", tags)
		}
		raw := run(t, crane, "manifest", reg+"/mode/chains:top")
		if digestBytes([]byte(raw)) != d {
			t.Errorf("crane manifest has digest %s, want %s", digestBytes([]byte(raw)), d)
		}
		cm, err := parseChainManifest([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		out := t.TempDir()
		for i, l := range cm.Layers {
			p := filepath.Join(out, l.Annotations[AnnotationTitle])
			blob := run(t, crane, "blob", reg+"/mode/chains@"+string(l.Digest))
			if err := os.WriteFile(p, []byte(blob), 0o644); err != nil {
				t.Fatal(err)
			}
			sameFile(t, ls[i].Path, p)
		}
		var c Chain
		if err := json.Unmarshal([]byte(run(t, crane, "config", reg+"/mode/chains:top")), &c); err != nil || c.Name != "top" {
			t.Errorf("crane config: chain %q, %v", c.Name, err)
		}
	})

	t.Run("we pull what we pushed", func(t *testing.T) {
		s, err := OpenStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		out := t.TempDir()
		_, pd, err := Pull(ctx, reg+"/mode/chains:top", out, WithStore(s))
		if err != nil {
			t.Fatal(err)
		}
		if pd != d {
			t.Errorf("pulled %s, pushed %s", pd, d)
		}
		for i, l := range ls {
			sameFile(t, l.Path, filepath.Join(out, l.Meta.File))
			sameFile(t, l.Path, s.BlobPath(string(m.Layers[i].Digest)))
		}
	})

	t.Run("resume against distribution", func(t *testing.T) {
		u, _ := url.Parse("http://" + reg)
		f := &faults{h: httputil.NewSingleHostReverseProxy(u), blob: string(m.Layers[2].Digest), cut: 1}
		proxy := httptest.NewServer(f)
		defer proxy.Close()
		out := t.TempDir()
		if _, _, err := Pull(ctx, strings.TrimPrefix(proxy.URL, "http://")+"/mode/chains:top", out, fast); err != nil {
			t.Fatal(err)
		}
		sameFile(t, ls[2].Path, filepath.Join(out, ls[2].Meta.File))
		gets, ranges := f.stats()
		if gets != 2 || !strings.HasPrefix(ranges[1], "bytes=") || ranges[1] == "bytes=0-" {
			t.Errorf("blob GETs %d with ranges %q; want a cut GET, then a resuming Range", gets, ranges)
		}
	})

	t.Run("second push uploads nothing", func(t *testing.T) {
		first := &byteCounter{}
		if _, err := Push(ctx, src, "top", reg+"/mode/again:top", WithTransport(first)); err != nil {
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
		if _, err := Push(ctx, src, "top", reg+"/mode/chains", WithTransport(counter)); err != nil {
			t.Fatal(err)
		}
		if n := counter.uploaded(); n > 4096 {
			t.Errorf("second push sent %d bytes; want only the manifest", n)
		}
	})

	t.Run("we pull what crane pushed", func(t *testing.T) {
		// A store with one chain is an OCI layout of one image, which crane pushes.
		one, _ := testStore(t, []string{"solo"}, 128<<10)
		_, _, want, err := one.Chain("solo")
		if err != nil {
			t.Fatal(err)
		}
		run(t, crane, "push", one.Dir(), reg+"/crane/pushed:solo")
		out := t.TempDir()
		c, pd, err := Pull(ctx, reg+"/crane/pushed:solo", out)
		if err != nil {
			t.Fatal(err)
		}
		if pd != want {
			t.Errorf("crane pushed %s, store has %s", pd, want)
		}
		sameFile(t, one.BlobPath(c.Layers[0].Digest), filepath.Join(out, c.Layers[0].File))
	})

	t.Run("mode serve round trip", func(t *testing.T) {
		served, err := OpenStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		host := serveStore(t, served, WithPushToken("tok"))
		// distribution → our pull → our push → mode serve → crane and our pull.
		mid, err := OpenStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := Pull(ctx, reg+"/mode/chains:top", "", WithStore(mid)); err != nil {
			t.Fatal(err)
		}
		sd, err := Push(ctx, mid, "top", host+"/mode", WithAuth(&authn.Bearer{Token: "tok"}))
		if err != nil {
			t.Fatal(err)
		}
		if sd != d {
			t.Errorf("mode serve has %s, distribution %s", sd, d)
		}
		if tags := run(t, crane, "ls", host+"/mode"); !strings.Contains(tags, "top") {
			t.Errorf("crane ls on mode serve: %q", tags)
		}
		if raw := run(t, crane, "manifest", host+"/mode:top"); digestBytes([]byte(raw)) != d {
			t.Errorf("crane manifest on mode serve: digest %s, want %s", digestBytes([]byte(raw)), d)
		}
		blob := run(t, crane, "blob", host+"/mode@"+string(m.Layers[2].Digest))
		if digestBytes([]byte(blob)) != string(m.Layers[2].Digest) {
			t.Errorf("crane blob on mode serve differs")
		}
		out := t.TempDir()
		if _, _, err := Pull(ctx, host+"/mode:top", out); err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			sameFile(t, l.Path, filepath.Join(out, l.Meta.File))
		}
		// crane copies from mode serve into distribution.
		run(t, crane, "copy", host+"/mode:top", reg+"/copied/chain:top")
		if raw := run(t, crane, "manifest", reg+"/copied/chain:top"); digestBytes([]byte(raw)) != d {
			t.Errorf("crane copy changed the manifest")
		}
	})
}

// TestStoreIsOCILayout reads the store with go-containerregistry's layout package.
func TestStoreIsOCILayout(t *testing.T) {
	s, _ := testStore(t, []string{"base", "top"}, 0)
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
		names = append(names, m.Annotations[AnnotationRefName])
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
	if strings.Join(names, ",") != "base,top" {
		t.Errorf("layout tags %v, want base,top", names)
	}
}

// TestSkopeo: skopeo (containers/image, another OCI implementation) reads
// the store, pushes a chain to mode serve with the push token as basic-auth
// password, and copies a chain from the distribution registry into an OCI
// layout that OpenStore reads.
func TestSkopeo(t *testing.T) {
	skopeo, err := exec.LookPath("skopeo")
	if err != nil {
		t.Fatalf("skopeo not found (run make deps): %v", err)
	}
	ctx := context.Background()
	src, ls := testStore(t, []string{"base", "top"}, 64<<10)
	_, m, want, err := src.Chain("top")
	if err != nil {
		t.Fatal(err)
	}
	raw := run(t, skopeo, "inspect", "--raw", "oci:"+src.Dir()+":top")
	if digestBytes([]byte(raw)) != want {
		t.Errorf("skopeo inspect --raw: digest %s, want %s", digestBytes([]byte(raw)), want)
	}

	served, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	host := serveStore(t, served, WithPushToken("tok"))
	run(t, skopeo, "copy", "--dest-tls-verify=false", "--dest-creds", "mode:tok",
		"oci:"+src.Dir()+":top", "docker://"+host+"/sk:top")
	if _, _, got, err := served.Chain("top"); err != nil || got != want {
		t.Errorf("mode serve after skopeo copy: %s, %v; want %s", got, err, want)
	}
	for _, l := range m.Layers {
		sameFile(t, src.BlobPath(string(l.Digest)), served.BlobPath(string(l.Digest)))
	}

	reg := distribution(t)
	if _, err := Push(ctx, src, "top", reg+"/mode/sk"); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	run(t, skopeo, "copy", "--src-tls-verify=false", "docker://"+reg+"/mode/sk:top", "oci:"+dir+":top")
	copied, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, _, got, err := copied.Chain("top")
	if err != nil || got != want {
		t.Fatalf("layout written by skopeo: %s, %v; want %s", got, err, want)
	}
	for i, l := range ls {
		sameFile(t, l.Path, copied.BlobPath(c.Layers[i].Digest))
	}
}
