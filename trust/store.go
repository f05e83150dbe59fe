package trust

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/mode-build/mode/registry"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// StoreRepository is the repository a signature of a chain in the local
// store names (the payload's docker-reference): the store has no registry
// name. Neither cosign nor mode checks it against where the chain is served.
const StoreRepository = "localhost/mode-store"

// SignStore signs the chain tagged chain in the local store s and stores the
// signature beside it as a registry would (tag SignatureTag(digest), subject
// the chain's manifest): mode serve serves it, mode push carries it along.
// It returns the chain's manifest digest.
func SignStore(s *registry.Store, chain string, key crypto.Signer, ann map[string]any) (string, error) {
	desc, err := s.Resolve(chain)
	if err != nil {
		return "", err
	}
	if _, _, _, err := s.Chain(chain); err != nil {
		return "", err
	}
	d := string(desc.Digest)
	p, err := Payload(StoreRepository, d, ann)
	if err != nil {
		return "", err
	}
	sig, err := Sign(key, p)
	if err != nil {
		return "", err
	}
	es, err := storeEntries(s, d)
	if err != nil {
		return "", err
	}
	es, ne, added := addEntry(es, sig)
	if !added {
		return d, nil
	}
	subject := &ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}
	raw, cfg, err := signatureManifest(subject, es, true)
	if err != nil {
		return "", err
	}
	for _, b := range [][]byte{ne.payload, cfg} {
		if _, err := s.PutBlob(bytes.NewReader(b), digestOf(b)); err != nil {
			return "", fmt.Errorf("signature of %s: %w", chain, err)
		}
	}
	if _, err := s.PutManifest(raw, manifestMediaType, SignatureTag(d)); err != nil {
		return "", fmt.Errorf("signature of %s: %w", chain, err)
	}
	return d, nil
}

// storeEntries returns the signature layers the store holds for manifest d.
func storeEntries(s *registry.Store, d string) ([]entry, error) {
	desc, err := s.Resolve(SignatureTag(d))
	if errors.Is(err, registry.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	raw, err := s.ReadBlob(string(desc.Digest))
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
// chain manifest d.
func StoreSignatures(s *registry.Store, d string) ([]Signature, error) {
	es, err := storeEntries(s, d)
	if err != nil {
		return nil, err
	}
	var out []Signature
	for i, e := range es {
		b, err := s.ReadBlob(string(e.desc.Digest))
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
// manifest d to subject, where that manifest was pushed. It returns how many
// there were.
func (r Remote) PushStoreSignatures(ctx context.Context, s *registry.Store, d string, subject name.Digest) (int, error) {
	sigs, err := StoreSignatures(s, d)
	if err != nil || len(sigs) == 0 {
		return 0, err
	}
	desc, err := s.Resolve(d)
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
