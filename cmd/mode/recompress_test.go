package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/squashfs"
	"github.com/mode-build/mode/verity"
)

// TestRecompress: mode recompress stores a chain of gzip layers again as xz
// under console-xz-style tags: new digests, xz images with the same entries,
// a verity tree each that checks, metadata that names the new bytes (and a
// saved layer's ParentDigests the new layers below); the original chain
// stays as it was. Bad input changes nothing.
func TestRecompress(t *testing.T) {
	testutil.RequiresRoot(t)
	ls := registrytest.Chain(t, []string{"base", "mid", "mine"}, 64<<10)
	for i := range ls {
		d, n, err := layers.FileDigest(ls[i].Path)
		if err != nil {
			t.Fatal(err)
		}
		ls[i].Meta.Digest, ls[i].Meta.Size = d, n
	}
	ls[2].Meta.ParentDigests = []string{ls[0].Meta.Digest, ls[1].Meta.Digest} // a saved layer
	dir := t.TempDir()
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := s.AddChain(context.Background(), "r", "mine", ls)
	if err != nil {
		t.Fatal(err)
	}

	out, err := modeCmd("recompress", "--store", dir, "--json", "r:mine").Output()
	if err != nil {
		t.Fatalf("recompress: %v\n%s", err, stderrOf(err))
	}
	var doc RecompressJSON
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("recompress --json: %v\n%s", err, out)
	}
	if doc.Ref != "r:mine-xz" || doc.Compression != "xz" || len(doc.Layers) != 3 {
		t.Errorf("recompress --json: %+v", doc)
	}
	c, _, md, err := s.Chain("r", "mine-xz")
	if err != nil {
		t.Fatal(err)
	}
	if md.String() != doc.Digest || c.Name != "mine" {
		t.Errorf("stored chain %s named %q, want %s named mine", md, c.Name, doc.Digest)
	}
	for i, m := range c.Layers {
		p := s.BlobPath(digest.Digest(m.Digest))
		if m.Digest == ls[i].Meta.Digest || m.Compression != "xz" || m.Verity == nil || m.File != ls[i].Meta.File || m.Name != ls[i].Meta.Name {
			t.Errorf("layer %d metadata: %+v", i, m)
			continue
		}
		if d, n, err := layers.FileDigest(p); err != nil || d != m.Digest || n != m.Size {
			t.Errorf("layer %s: blob %s, %d bytes, %v; metadata says %s, %d", m.File, d, n, err, m.Digest, m.Size)
		}
		if err := verity.Check(m.Verity, p); err != nil {
			t.Errorf("layer %s: %v", m.File, err)
		}
		if out, err := exec.Command("unsquashfs", "-s", p).CombinedOutput(); err != nil || !strings.Contains(string(out), "Compression xz\n") {
			t.Errorf("layer %s is not xz: %v\n%s", m.File, err, out)
		}
		before, err1 := squashfs.Inspect(ls[i].Path)
		after, err2 := squashfs.Inspect(p)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("layer %s entries (-gzip +xz):\n%s", m.File, diff)
		}
	}
	if want := []string{c.Layers[0].Digest, c.Layers[1].Digest}; !cmp.Equal(want, c.Layers[2].ParentDigests) {
		t.Errorf("saved layer's ParentDigests %v, want the new layers below %v", c.Layers[2].ParentDigests, want)
	}
	if oc, _, od, err := s.Chain("r", "mine"); err != nil || od != orig || oc.Layers[0].Digest != ls[0].Meta.Digest {
		t.Errorf("the original chain changed: %s, %v", od, err)
	}
	blobsVerify(t, s)

	// Again with the same compression: every layer kept, the same chain.
	if out, err := modeCmd("recompress", "--store", dir, "--compression", "xz", "--tag", "again", "r:mine-xz").CombinedOutput(); err != nil {
		t.Fatalf("recompress again: %v\n%s", err, out)
	}
	if _, _, d, err := s.Chain("r", "again"); err != nil || d != md {
		t.Errorf("xz chain recompressed with xz: %s, %v; want the same manifest %s", d, err, md)
	}

	for _, tt := range []struct {
		args []string
		says string
	}{
		{[]string{"--compression", "xz:6", "r:mine"}, `"xz:6"`},
		{[]string{"--compression", "zstd:99", "r:mine"}, `"zstd:99"`},
		{[]string{"--tag", "no/slash", "r:mine"}, `"no/slash"`},
		{[]string{"r:nosuch"}, "nosuch"},
	} {
		out, err := modeCmd(append([]string{"recompress", "--store", dir}, tt.args...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tt.says) {
			t.Errorf("recompress %v: %v, output %q; want an error saying %s", tt.args, err, out, tt.says)
		}
	}
	if tags, _ := s.Tags("r"); !cmp.Equal(tags, []string{"again", "mine", "mine-xz"}) {
		t.Errorf("tags after bad input: %v", tags)
	}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
