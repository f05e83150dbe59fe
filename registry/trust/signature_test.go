package trust

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testKey writes a key pair into a temporary directory and returns the signer
// and its public key.
func testKey(t *testing.T, name string) (crypto.Signer, *PublicKey) {
	t.Helper()
	keyFile, pubFile, err := WriteKeyPair(filepath.Join(t.TempDir(), name), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadSigner(keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := LoadPublicKeys(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	return s, keys[0]
}

const (
	digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func TestPayload(t *testing.T) {
	p, err := Payload("127.0.0.1:5000/tiny", digestA, map[string]any{"chain": "extra"})
	if err != nil {
		t.Fatal(err)
	}
	// The simple-signing format cosign writes and reads.
	want := `{"critical":{"identity":{"docker-reference":"127.0.0.1:5000/tiny"},"image":{"docker-manifest-digest":"` + digestA +
		`"},"type":"cosign container image signature"},"optional":{"chain":"extra"}}`
	if string(p) != want {
		t.Errorf("payload\n%s\nwant\n%s", p, want)
	}
}

func TestSignVerify(t *testing.T) {
	s1, k1 := testKey(t, "one")
	_, k2 := testKey(t, "two")
	p, err := Payload("example.org/tiny", digestA, nil)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := Sign(s1, p)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := Verify([]*PublicKey{k2, k1}, digestA, []Signature{*sig}); err != nil || k != k1 {
		t.Fatalf("Verify: %v, %v; want key one", k, err)
	}
	tampered := *sig
	tampered.Payload = []byte(strings.Replace(string(p), "example.org", "example.com", 1))
	other, _ := Payload("example.org/tiny", digestB, nil)
	for _, tc := range []struct {
		name   string
		keys   []*PublicKey
		digest string
		sigs   []Signature
		want   string
	}{
		{"another key", []*PublicKey{k2}, digestA, []Signature{*sig}, "does not verify with any trusted key"},
		{"another manifest", []*PublicKey{k1}, digestB, []Signature{*sig}, "signs manifest " + digestA + ", not this one"},
		{"tampered payload", []*PublicKey{k1}, digestA, []Signature{tampered}, "does not verify"},
		{"none", []*PublicKey{k1}, digestA, nil, "no signature found"},
		{"not simple signing", []*PublicKey{k1}, digestA, []Signature{{Payload: []byte(`{"a":1}`), Base64: sig.Base64}}, "payload type"},
		{"payload of another digest", []*PublicKey{k1}, digestA, []Signature{{Payload: other, Base64: sig.Base64}}, "not this one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tc.keys, tc.digest, tc.sigs)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrUnsigned) {
				t.Fatalf("got %v, want ErrUnsigned containing %q", err, tc.want)
			}
			var ve *VerifyError
			if !errors.As(err, &ve) || len(ve.Keys) != len(tc.keys) || !strings.Contains(err.Error(), tc.keys[0].ID) {
				t.Errorf("%v: does not name the keys tried", err)
			}
		})
	}
}

// TestOtherKeyTypes signs and verifies with unencrypted PKCS#8 keys of the
// other types cosign knows: RSA (PKCS#1 v1.5 over SHA-256) and Ed25519.
func TestOtherKeyTypes(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []crypto.Signer{rsaKey, edKey} {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "k.key")
		os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
		signer, err := LoadSigner(file, nil)
		if err != nil {
			t.Fatal(err)
		}
		pubDER, _ := x509.MarshalPKIXPublicKey(k.Public())
		pub, err := ParsePublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), "k.pub")
		if err != nil {
			t.Fatal(err)
		}
		p, _ := Payload("example.org/tiny", digestA, nil)
		sig, err := Sign(signer, p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Verify([]*PublicKey{pub}, digestA, []Signature{*sig}); err != nil {
			t.Errorf("%T: %v", k, err)
		}
		bad := *sig
		bad.Payload = append([]byte(nil), p...)
		bad.Payload[strings.Index(string(p), "example.org")+2] = 'b' // exbmple.org: still a valid claim
		if _, err := Verify([]*PublicKey{pub}, digestA, []Signature{bad}); err == nil || !strings.Contains(err.Error(), "does not verify") {
			t.Errorf("%T: a changed payload: %v", k, err)
		}
	}
}
