package trust

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/mode-build/mode/registry/store"
	"github.com/opencontainers/go-digest"
)

// ErrRewritten: the registry holds a pushed chain under another manifest
// digest than the store's (it took the manifest without its artifactType),
// so the store's signatures do not apply there; sign it there instead.
var ErrRewritten = errors.New("the registry took the manifest without its artifactType: the store's signatures do not apply")

// ErrNotFetched wraps the error of a registry that did not give a pulled
// chain's signatures: the chain itself is not at fault (PullSignatures).
var ErrNotFetched = errors.New("signatures not fetched")

// PinnedRef is ref's repository at digest d: REPO@DIGEST.
func PinnedRef(ref, d string) string {
	repo := ref
	if i := strings.Index(repo, "@"); i >= 0 {
		repo = repo[:i]
	} else if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return repo + "@" + d
}

// SignRef signs the manifest ref names now, with the optional annotations
// ann in the payload, and attaches the signature beside it as cosign does
// (mode sign). It returns the digest reference it signed.
func (r Remote) SignRef(ctx context.Context, key crypto.Signer, ref string, ann map[string]any) (name.Digest, error) {
	d, desc, err := r.Resolve(ctx, ref)
	if err != nil {
		return name.Digest{}, err
	}
	p, err := Payload(d.Context().Name(), d.DigestStr(), ann)
	if err != nil {
		return name.Digest{}, fmt.Errorf("%s: %w", ref, err)
	}
	s, err := Sign(key, p)
	if err != nil {
		return name.Digest{}, fmt.Errorf("%s: %w", ref, err)
	}
	if err := r.Attach(ctx, d, desc, s); err != nil {
		return name.Digest{}, fmt.Errorf("%s: %w", ref, err)
	}
	return d, nil
}

// PushSignatures carries the store's signatures of the chain at repo:ref
// to pushRef, where a push gave it manifest digest pushed (mode push). It
// returns how many it carried; ErrRewritten when the registry holds another
// manifest than the store's while the store has signatures of it.
func (r Remote) PushSignatures(ctx context.Context, s *store.Store, repo, ref, pushRef string, pushed digest.Digest) (int, error) {
	desc, err := s.Resolve(repo, ref)
	if err != nil {
		return 0, err
	}
	if md := desc.Digest; pushed != md {
		if sigs, _ := StoreSignatures(s, repo, md); len(sigs) > 0 {
			return 0, fmt.Errorf("%s:%s: %w (%s, not %s)", repo, ref, ErrRewritten, pushed, md)
		}
		return 0, nil
	}
	pinned, err := r.ParseRef(PinnedRef(pushRef, string(pushed)))
	if err != nil {
		return 0, err
	}
	n, err := r.PushStoreSignatures(ctx, s, repo, pushed, pinned.(name.Digest))
	if err != nil {
		return n, fmt.Errorf("%s:%s: signatures: %w", repo, ref, err)
	}
	return n, nil
}

// PullSignatures keeps the signatures the registry holds for the manifest d
// just pulled from ref in the store, beside the chain, so that the store
// serves them and pushes carry them on (mode pull). It returns how many it
// kept; a registry that does not give them is an error wrapping
// ErrNotFetched.
func (r Remote) PullSignatures(ctx context.Context, s *store.Store, ref string, d digest.Digest) (int, error) {
	n, err := r.ParseRef(PinnedRef(ref, string(d)))
	if err != nil {
		return 0, err
	}
	pinned := n.(name.Digest)
	sigs, _, err := r.Signatures(ctx, pinned)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrNotFetched, err)
	}
	kept, err := AddStoreSignatures(s, pinned.Context().RepositoryStr(), d, sigs)
	if err != nil {
		return kept, fmt.Errorf("%s: signatures: %w", ref, err)
	}
	return kept, nil
}
