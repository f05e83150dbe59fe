package trust

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// testImage pushes a random image to a fresh in-process registry as
// REPO:v1 and returns its reference.
func testImage(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	ref := strings.TrimPrefix(srv.URL, "http://") + "/chains/tiny:v1"
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := name.ParseReference(ref)
	if err := remote.Write(n, img); err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestAttachSignatures(t *testing.T) {
	ctx := context.Background()
	ref := testImage(t)
	var r Remote
	d, desc, err := r.Resolve(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	s1, k1 := testKey(t, "one")
	s2, k2 := testKey(t, "two")
	_, k3 := testKey(t, "three")
	if sigs, looked, err := r.Signatures(ctx, d); err != nil || len(sigs) != 0 {
		t.Fatalf("unsigned: %d signatures, %v", len(sigs), err)
	} else if _, err := Verify([]*PublicKey{k1}, d.DigestStr(), sigs); err == nil || !strings.Contains(err.Error(), "no signature found") {
		t.Fatalf("unsigned verifies: %v (looked at %s)", err, looked)
	}
	sign := func(sig *Signature) {
		t.Helper()
		if err := r.Attach(ctx, d, desc, sig); err != nil {
			t.Fatal(err)
		}
	}
	p, _ := Payload(d.Context().Name(), d.DigestStr(), nil)
	sig1, _ := Sign(s1, p)
	sig2, _ := Sign(s2, p)
	sign(sig1)
	sign(sig2)
	sign(sig1) // the same signature again is not added twice
	sigs, looked, err := r.Signatures(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 2 {
		t.Fatalf("%d signatures (looked at %s), want 2", len(sigs), looked)
	}
	if !strings.Contains(looked, "referrers") {
		t.Errorf("looked at %s: the referrers API was not asked", looked)
	}
	for _, k := range []*PublicKey{k1, k2} {
		if got, err := Verify([]*PublicKey{k}, d.DigestStr(), sigs); err != nil || got != k {
			t.Errorf("key %s: %v", k.ID, err)
		}
	}
	if _, err := Verify([]*PublicKey{k3}, d.DigestStr(), sigs); err == nil {
		t.Error("a third key verifies")
	}
	// The referrers API lists the signature manifest by its subject.
	idx, err := remote.Referrers(d)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	tagged, err := remote.Head(d.Context().Tag(SignatureTag(d.DigestStr())))
	if err != nil {
		t.Fatal(err)
	}
	listed := false
	for _, m := range im.Manifests {
		listed = listed || m.Digest == tagged.Digest && m.ArtifactType == ArtifactType
	}
	if !listed {
		t.Errorf("referrers %+v do not list the signature manifest %s", im.Manifests, tagged.Digest)
	}
}

func TestBrokenSignatureArtifact(t *testing.T) {
	ctx := context.Background()
	ref := testImage(t)
	var r Remote
	d, desc, err := r.Resolve(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	tag := d.Context().Tag(SignatureTag(d.DigestStr()))
	s1, _ := testKey(t, "one")
	p, _ := Payload(d.Context().Name(), d.DigestStr(), nil)
	sig, _ := Sign(s1, p)
	for _, tc := range []struct {
		name, manifest, want string
	}{
		{"truncated manifest", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
			`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + digestOf([]byte("{}")) + `","size":2},"layers":[]}`,
			"has no " + SimpleSigningMediaType + " layer"},
		{"truncated payload", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
			`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + digestOf([]byte("{}")) + `","size":2},` +
			`"layers":[{"mediaType":"` + SimpleSigningMediaType + `","digest":"` + digestOf(p) + `","size":` + strconv.Itoa(len(p)) +
			`,"annotations":{"` + SignatureAnnotation + `":"` + sig.Base64 + `"}}]}`,
			"payload " + digestOf(p)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "truncated payload" {
				// The payload blob the manifest names is in the registry cut short:
				// a blob of the first half under the full payload's digest cannot
				// be stored, so store the half and point at it with the full size.
				half := p[:len(p)/2]
				if err := remote.WriteLayer(d.Context(), static.NewLayer(half, types.MediaType(SimpleSigningMediaType))); err != nil {
					t.Fatal(err)
				}
				tc.manifest = strings.Replace(tc.manifest, digestOf(p), digestOf(half), 1)
				tc.want = "payload " + digestOf(half)
			}
			if err := remote.Put(tag, rawManifest(tc.manifest)); err != nil {
				t.Fatal(err)
			}
			_, _, err := r.Signatures(ctx, d)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Signatures: %v, want an error containing %q", err, tc.want)
			}
			if tc.name != "truncated manifest" {
				return
			}
			// Signing over an unreadable signature manifest pushes nothing.
			before, _ := remote.Get(tag)
			if err := r.Attach(ctx, d, desc, sig); err == nil || !strings.Contains(err.Error(), "nothing pushed") {
				t.Fatalf("Attach over a truncated signature manifest: %v", err)
			}
			if after, _ := remote.Get(tag); before.Digest != after.Digest {
				t.Error("the signature manifest changed")
			}
		})
	}
}

func TestParseSignatureManifest(t *testing.T) {
	_, err := parseSignatureManifest([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaT`))
	if err == nil || !strings.Contains(err.Error(), "not JSON (truncated?)") {
		t.Errorf("truncated JSON: %v", err)
	}
}
