package trust

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/mode-build/mode/registry/serve"
)

func TestPinnedRef(t *testing.T) {
	for ref, want := range map[string]string{
		"host:5000/chains:top":          "host:5000/chains@sha256:d",
		"host:5000/chains":              "host:5000/chains@sha256:d",
		"host:5000/chains@sha256:other": "host:5000/chains@sha256:d",
		"host/a/b:v1":                   "host/a/b@sha256:d",
	} {
		if got := PinnedRef(ref, "sha256:d"); got != want {
			t.Errorf("PinnedRef(%q) = %q, want %q", ref, got, want)
		}
	}
}

// TestChainSignatures: a store's signature travels to a registry with the
// chain (PushSignatures), a pull keeps the registry's signatures in another
// store (PullSignatures), and SignRef adds one in the registry.
func TestChainSignatures(t *testing.T) {
	ctx := context.Background()
	src, d := testStore(t)
	served, sd := testStore(t) // the registry, holding the chain as a push leaves it
	dst, dd := testStore(t)
	if sd != d || dd != d {
		t.Fatalf("the same chain has digests %s, %s, %s", d, sd, dd)
	}
	srv := httptest.NewServer(serve.New(served, serve.WithPushToken("t")).Handler())
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ref := host + "/tiny:base"
	r := Remote{Auth: &authn.Bearer{Token: "t"}}
	k1, pub1 := testKey(t, "one")
	k2, pub2 := testKey(t, "two")

	if n, err := r.PushSignatures(ctx, src, "tiny", "base", ref, d); err != nil || n != 0 {
		t.Fatalf("unsigned: pushed %d signatures, %v", n, err)
	}
	if _, _, err := SignStore(src, "base", k1, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := r.PushSignatures(ctx, src, "tiny", "base", ref, d); err != nil || n != 1 {
		t.Fatalf("pushed %d signatures, %v; want 1", n, err)
	}
	if _, err := r.PushSignatures(ctx, src, "tiny", "base", ref, "sha256:0000"); !errors.Is(err, ErrRewritten) {
		t.Errorf("another manifest in the registry: %v, want ErrRewritten", err)
	}
	signed, err := r.SignRef(ctx, k2, ref, map[string]any{"by": "test"})
	if err != nil || signed.DigestStr() != string(d) {
		t.Fatalf("SignRef: %v %v, want %s", signed, err, d)
	}
	if n, err := r.PullSignatures(ctx, dst, ref, d); err != nil || n != 2 {
		t.Fatalf("kept %d signatures, %v; want 2", n, err)
	}
	sigs, err := StoreSignatures(dst, "tiny", d)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*PublicKey{pub1, pub2} {
		if _, err := Verify([]*PublicKey{k}, string(d), sigs); err != nil {
			t.Errorf("pulled store: %v", err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	gone := ln.Addr().String() + "/tiny:base"
	if _, err := r.PullSignatures(ctx, dst, gone, d); !errors.Is(err, ErrNotFetched) {
		t.Errorf("a registry gone: %v, want ErrNotFetched", err)
	}
}
