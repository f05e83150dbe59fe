package trust

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mode-build/mode/registry/store"
	"github.com/opencontainers/go-digest"
)

// SignedSuffix ends the name of the file that carries a signed chain on
// local media, beside its top layer: base-essential-console.signed.json.
const SignedSuffix = ".signed.json"

// Signed is a signed chain as one file, for media the init reads without a
// registry (mode.from): the chain's manifest and config as the registry has
// them, and cosign signatures of the manifest's digest.
type Signed struct {
	Manifest   []byte      `json:"manifest"` // base64 in the file
	Config     []byte      `json:"config"`
	Signatures []SignedSig `json:"signatures"`
}

// SignedSig is one signature of a Signed: cosign's payload and signature.
type SignedSig struct {
	Payload   []byte `json:"payload"`
	Signature string `json:"signature"` // base64, as in the annotation
}

// WriteSigned writes the chain repo:ref of the store with the signatures
// the store holds for it as DIR/<top layer's stem>.signed.json, through a
// temporary file and a rename. It returns the file's path.
func WriteSigned(s *store.Store, repo, ref, dir string) (string, error) {
	c, m, d, err := s.Chain(repo, ref)
	if err != nil {
		return "", err
	}
	sigs, err := StoreSignatures(s, repo, d)
	if err != nil {
		return "", err
	}
	if len(sigs) == 0 {
		return "", fmt.Errorf("chain %s:%s (%s) has no signature in the store: sign it first", repo, ref, d)
	}
	raw, err := s.ReadBlob(d)
	if err != nil {
		return "", err
	}
	cfg, err := s.ReadBlob(m.Config.Digest)
	if err != nil {
		return "", err
	}
	sg := Signed{Manifest: raw, Config: cfg}
	for _, sig := range sigs {
		sg.Signatures = append(sg.Signatures, SignedSig{Payload: sig.Payload, Signature: sig.Base64})
	}
	data, err := json.MarshalIndent(sg, "", "  ")
	if err != nil {
		return "", err
	}
	top := c.Layers[len(c.Layers)-1].File
	file := filepath.Join(dir, strings.TrimSuffix(top, ".sqfs")+SignedSuffix)
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return file, nil
}

// ReadSigned reads a Signed file.
func ReadSigned(file string) (*Signed, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var sg Signed
	if err := json.Unmarshal(data, &sg); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &sg, nil
}

// Verify checks sg's signatures against keys and its config against its
// manifest. It returns the manifest digest, the chain config and the key
// that signed it.
func (sg *Signed) Verify(keys []*PublicKey) (digest.Digest, *store.Chain, *PublicKey, error) {
	d := digest.Digest(digestOf(sg.Manifest))
	var sigs []Signature
	for i, s := range sg.Signatures {
		sigs = append(sigs, Signature{Payload: s.Payload, Base64: s.Signature, Source: fmt.Sprintf("signature %d", i+1)})
	}
	k, err := Verify(keys, string(d), sigs)
	if err != nil {
		return d, nil, nil, err
	}
	m, err := store.ParseChainManifest(sg.Manifest)
	if err != nil {
		return d, nil, k, err
	}
	if got := digestOf(sg.Config); got != string(m.Config.Digest) {
		return d, nil, k, fmt.Errorf("chain config is %s, its manifest says %s", got, m.Config.Digest)
	}
	c, err := store.ParseChainConfig(sg.Config, m)
	if err != nil {
		return d, nil, k, err
	}
	return d, c, k, nil
}
