package trust

import (
	"context"
	"crypto"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/store"
	"github.com/opencontainers/go-digest"
)

// testStore returns a new store holding one chain, tiny:base, and its
// manifest digest: the same for every store it makes.
func testStore(t *testing.T) (*store.Store, digest.Digest) {
	t.Helper()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	layer := filepath.Join(t.TempDir(), "base.sqfs")
	os.WriteFile(layer, []byte("not really squashfs, but the store only hashes it"), 0o644)
	d, err := s.AddChain(context.Background(), "tiny", "base", []store.Layer{{Path: layer, Meta: layers.Meta{Name: "base"}}})
	if err != nil {
		t.Fatal(err)
	}
	return s, d
}

// TestSignStore signs a chain of the local store, checks the signature, and
// signs again with a second key: both are kept, listed as referrers of the
// chain's manifest.
func TestSignStore(t *testing.T) {
	s, d := testStore(t)
	s1, k1 := testKey(t, "one")
	s2, k2 := testKey(t, "two")
	_, k3 := testKey(t, "three")
	if sigs, err := StoreSignatures(s, "tiny", d); err != nil || len(sigs) != 0 {
		t.Fatalf("before signing: %d signatures, %v", len(sigs), err)
	}
	for _, k := range []crypto.Signer{s1, s2} {
		if repo, got, err := SignStore(s, "base", k, nil); err != nil || got != d || repo != "tiny" {
			t.Fatalf("SignStore: %s %s, %v; want tiny %s", repo, got, err, d)
		}
	}
	sigs, err := StoreSignatures(s, "tiny", d)
	if err != nil || len(sigs) != 2 {
		t.Fatalf("%d signatures, %v; want 2", len(sigs), err)
	}
	for _, k := range []*PublicKey{k1, k2} {
		if _, err := Verify([]*PublicKey{k}, string(d), sigs); err != nil {
			t.Error(err)
		}
	}
	if _, err := Verify([]*PublicKey{k3}, string(d), sigs); err == nil || !strings.Contains(err.Error(), k3.ID) {
		t.Errorf("a third key: %v", err)
	}
	refs, err := s.Referrers("tiny", d, ArtifactType)
	if err != nil || len(refs) == 0 {
		t.Errorf("referrers: %v %v", refs, err)
	}
	if _, _, err := SignStore(s, "nosuch", s1, nil); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("an absent chain: %v", err)
	}
}

// TestVerifyStore: ChainSignatures finds a store chain's signatures by its
// name, VerifyStore checks them and says where it looked when none match.
func TestVerifyStore(t *testing.T) {
	s, d := testStore(t)
	k1, pub1 := testKey(t, "one")
	_, pub2 := testKey(t, "two")
	if repo, got, sigs, err := ChainSignatures(s, "base"); err != nil || repo != "tiny" || got != d || len(sigs) != 0 {
		t.Fatalf("unsigned: %s %s %d, %v", repo, got, len(sigs), err)
	}
	if _, _, err := VerifyStore(s, "base", []*PublicKey{pub1}); !errors.Is(err, ErrUnsigned) || !strings.Contains(err.Error(), "of the store") {
		t.Errorf("unsigned verifies: %v", err)
	}
	if _, _, err := SignStore(s, "base", k1, nil); err != nil {
		t.Fatal(err)
	}
	if got, k, err := VerifyStore(s, "tiny:base", []*PublicKey{pub2, pub1}); err != nil || got != d || k != pub1 {
		t.Errorf("VerifyStore: %s %v, %v", got, k, err)
	}
	if _, _, err := VerifyStore(s, "tiny:base", []*PublicKey{pub2}); err == nil {
		t.Error("another key verifies")
	}
	if _, _, _, err := ChainSignatures(s, "nosuch"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an absent chain: %v", err)
	}
}
