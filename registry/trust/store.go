package trust

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/mode-build/mode/registry/store"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// StoreHost prefixes a store repository in the payload of a signature made
// in the local store (its docker-reference: localhost/REPO): the store has
// no registry name. Neither cosign nor mode checks it against where the
// chain is served.
const StoreHost = "localhost"

// SignStore signs the chain of the local store s that chain names (as
// store.Find takes it: CHAIN, REPO:CHAIN, REPO@DIGEST) and stores the
// signature beside it as a registry would (tag SignatureTag(digest) in the
// chain's repository, subject the chain's manifest): mode serve serves it,
// mode push carries it along. It returns the repository and the chain's
// manifest digest.
func SignStore(s *store.Store, chain string, key crypto.Signer, ann map[string]any) (string, digest.Digest, error) {
	repo, ref, err := s.Find(chain)
	if err != nil {
		return "", "", err
	}
	if _, _, _, err := s.Chain(repo, ref); err != nil {
		return "", "", err
	}
	desc, err := s.Resolve(repo, ref)
	if err != nil {
		return "", "", err
	}
	d := desc.Digest
	p, err := Payload(StoreHost+"/"+repo, string(d), ann)
	if err != nil {
		return "", "", err
	}
	sig, err := Sign(key, p)
	if err != nil {
		return "", "", err
	}
	if err := storeSignatures(s, repo, desc, []Signature{*sig}); err != nil {
		return "", "", fmt.Errorf("signature of %s: %w", chain, err)
	}
	return repo, d, nil
}

// AddStoreSignatures keeps sigs, signatures of the chain manifest d of
// repo (from a registry: mode pull), in the store beside it, as SignStore
// does; signatures of other manifests are left out. It returns how many it
// kept.
func AddStoreSignatures(s *store.Store, repo string, d digest.Digest, sigs []Signature) (int, error) {
	desc, err := s.Resolve(repo, string(d))
	if err != nil {
		return 0, err
	}
	var keep []Signature
	for _, sig := range sigs {
		if claimed, err := sig.claim(); err == nil && claimed == string(d) {
			keep = append(keep, sig)
		}
	}
	if len(keep) == 0 {
		return 0, nil
	}
	return len(keep), storeSignatures(s, repo, desc, keep)
}

// storeSignatures adds sigs to the signature manifest of the manifest desc
// of repo in the store (tag SignatureTag(digest)).
func storeSignatures(s *store.Store, repo string, desc ocispec.Descriptor, sigs []Signature) error {
	es, err := storeEntries(s, repo, desc.Digest)
	if err != nil {
		return err
	}
	var added []entry
	for i := range sigs {
		var ne entry
		var ok bool
		if es, ne, ok = addEntry(es, &sigs[i]); ok {
			added = append(added, ne)
		}
	}
	if len(added) == 0 {
		return nil
	}
	subject := &ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}
	raw, cfg, err := signatureManifest(subject, es, true)
	if err != nil {
		return err
	}
	blobs := [][]byte{cfg}
	for _, e := range added {
		blobs = append(blobs, e.payload)
	}
	for _, b := range blobs {
		if _, err := s.PutBlob(bytes.NewReader(b), digest.Digest(digestOf(b))); err != nil {
			return err
		}
	}
	_, err = s.PutManifest(repo, SignatureTag(string(desc.Digest)), raw, manifestMediaType)
	return err
}

// storeEntries returns the signature layers the store holds for manifest d
// of repo.
func storeEntries(s *store.Store, repo string, d digest.Digest) ([]entry, error) {
	desc, err := s.Resolve(repo, SignatureTag(string(d)))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	raw, err := s.ReadBlob(desc.Digest)
	if err != nil {
		return nil, err
	}
	es, err := parseSignatureManifest(raw)
	if err != nil {
		return nil, fmt.Errorf("store: signatures of %s: %w", d, err)
	}
	return es, nil
}

// StoreSignatures returns the signatures the local store holds for the
// chain manifest d of repo.
func StoreSignatures(s *store.Store, repo string, d digest.Digest) ([]Signature, error) {
	es, err := storeEntries(s, repo, d)
	if err != nil {
		return nil, err
	}
	var out []Signature
	for i, e := range es {
		b, err := s.ReadBlob(e.desc.Digest)
		if err != nil {
			return nil, fmt.Errorf("store: signature %d of %s: %w", i+1, d, err)
		}
		if err := checkPayload(e, b); err != nil {
			return nil, fmt.Errorf("store: signature %d of %s: %w", i+1, d, err)
		}
		out = append(out, Signature{Payload: b, Base64: e.desc.Annotations[SignatureAnnotation], Source: fmt.Sprintf("store signature %d", i+1)})
	}
	return out, nil
}

// PushStoreSignatures attaches the signatures the store holds for the chain
// manifest d of repo to subject, where that manifest was pushed. It returns
// how many there were.
func (r Remote) PushStoreSignatures(ctx context.Context, s *store.Store, repo string, d digest.Digest, subject name.Digest) (int, error) {
	sigs, err := StoreSignatures(s, repo, d)
	if err != nil || len(sigs) == 0 {
		return 0, err
	}
	desc, err := s.Resolve(repo, string(d))
	if err != nil {
		return 0, err
	}
	sd := &ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}
	for i := range sigs {
		if err := r.Attach(ctx, subject, sd, &sigs[i]); err != nil {
			return i, err
		}
	}
	return len(sigs), nil
}

// ChainSignatures returns the signatures the store holds of the current
// manifest of the chain that chain names (as store.Find takes it), with the
// chain's repository and manifest digest (mode tree's mark, mode image).
func ChainSignatures(s *store.Store, chain string) (repo string, d digest.Digest, sigs []Signature, err error) {
	repo, ref, err := s.Find(chain)
	if err != nil {
		return "", "", nil, err
	}
	if _, _, d, err = s.Chain(repo, ref); err != nil {
		return "", "", nil, err
	}
	sigs, err = StoreSignatures(s, repo, d)
	return repo, d, sigs, err
}

// VerifyStore checks the store's signatures of the chain that chain names
// against keys, as the init does; it returns the chain's manifest digest
// and the key that signed it (mode verify CHAIN).
func VerifyStore(s *store.Store, chain string, keys []*PublicKey) (digest.Digest, *PublicKey, error) {
	_, d, sigs, err := ChainSignatures(s, chain)
	if err != nil {
		return "", nil, err
	}
	k, err := Verify(keys, string(d), sigs)
	if ve, ok := err.(*VerifyError); ok {
		ve.Looked = "tag " + SignatureTag(string(d)) + " of the store"
	}
	return d, k, err
}
