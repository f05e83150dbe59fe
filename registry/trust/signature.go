package trust

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// Signature is one cosign signature: the simple-signing payload and the
// base64 signature over it (the dev.cosignproject.cosign/signature
// annotation of its layer).
type Signature struct {
	Payload []byte
	Base64  string
	Source  string // where it was found, for messages: "tag sha256-….sig layer 1"
}

// Payload is the simple-signing payload cosign signs for the manifest
// digest d of repository repo (HOST[:PORT]/REPO): its critical part names
// the repository and the digest; annotations go to its optional part.
func Payload(repo, d string, annotations map[string]any) ([]byte, error) {
	ref, err := name.NewDigest(repo+"@"+d, name.WeakValidation, name.Insecure)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	return json.Marshal(payload.Cosign{Image: ref, Annotations: annotations})
}

// Sign signs payload p with key: ECDSA over SHA-256 (ASN.1), RSA PKCS#1
// v1.5 over SHA-256, or Ed25519 over p, as cosign does.
func Sign(key crypto.Signer, p []byte) (*Signature, error) {
	var sig []byte
	var err error
	if _, ok := key.(ed25519.PrivateKey); ok {
		sig, err = key.Sign(rand.Reader, p, crypto.Hash(0))
	} else {
		h := sha256.Sum256(p)
		sig, err = key.Sign(rand.Reader, h[:], crypto.SHA256)
	}
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return &Signature{Payload: p, Base64: base64.StdEncoding.EncodeToString(sig)}, nil
}

// check verifies s with key k.
func (s *Signature) check(k crypto.PublicKey) bool {
	sig, err := base64.StdEncoding.DecodeString(s.Base64)
	if err != nil {
		return false
	}
	h := sha256.Sum256(s.Payload)
	switch k := k.(type) {
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(k, h[:], sig)
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], sig) == nil
	case ed25519.PublicKey:
		return ed25519.Verify(k, s.Payload, sig)
	}
	return false
}

// claim decodes s's payload and returns the manifest digest it names.
func (s *Signature) claim() (string, error) {
	var c payload.SimpleContainerImage
	if err := json.Unmarshal(s.Payload, &c); err != nil {
		return "", fmt.Errorf("payload is not simple-signing JSON: %v", err)
	}
	if c.Critical.Type != payload.CosignSignatureType {
		return "", fmt.Errorf("payload type %q, want %q", c.Critical.Type, payload.CosignSignatureType)
	}
	return c.Critical.Image.DockerManifestDigest, nil
}

// ErrUnsigned is the error of Verify when no signature verifies.
var ErrUnsigned = errors.New("not signed by a trusted key")

// VerifyError says why a manifest has no valid signature: which digest,
// which keys were tried and what each signature found failed on.
type VerifyError struct {
	Digest  string
	Keys    []string // key IDs tried
	Reasons []string // one per signature found; empty when none was found
	Looked  string   // where signatures were looked for
}

func (e *VerifyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "manifest %s: %v (keys tried: %s): ", e.Digest, ErrUnsigned, strings.Join(e.Keys, ", "))
	if len(e.Reasons) == 0 {
		b.WriteString("no signature found")
		if e.Looked != "" {
			b.WriteString(" (" + e.Looked + ")")
		}
		return b.String()
	}
	b.WriteString(strings.Join(e.Reasons, "; "))
	return b.String()
}

func (e *VerifyError) Unwrap() error { return ErrUnsigned }

// Verify returns the key that signed manifest digest d among sigs, or a
// *VerifyError. A signature counts when its payload is a cosign simple
// signing payload naming d and it verifies with one of keys.
func Verify(keys []*PublicKey, d string, sigs []Signature) (*PublicKey, error) {
	e := &VerifyError{Digest: d}
	for _, k := range keys {
		e.Keys = append(e.Keys, k.ID)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("manifest %s: no trusted keys to check signatures with", d)
	}
	for i, s := range sigs {
		src := s.Source
		if src == "" {
			src = fmt.Sprintf("signature %d", i+1)
		}
		claimed, err := s.claim()
		if err != nil {
			e.Reasons = append(e.Reasons, src+": "+err.Error())
			continue
		}
		if claimed != d {
			e.Reasons = append(e.Reasons, fmt.Sprintf("%s: signs manifest %s, not this one", src, claimed))
			continue
		}
		for _, k := range keys {
			if s.check(k.Key) {
				return k, nil
			}
		}
		e.Reasons = append(e.Reasons, src+": does not verify with any trusted key (signed by another key)")
	}
	return nil, e
}
