package trust

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// PasswordEnv names the environment variable holding the password of an
// encrypted private key, as cosign names it.
const PasswordEnv = "COSIGN_PASSWORD"

// ErrNotPrivateKey is returned when a public key is given where a private
// one is needed.
var ErrNotPrivateKey = errors.New("a public key, not a private key")

// PublicKey is a key that signatures are checked against.
type PublicKey struct {
	Key    crypto.PublicKey
	ID     string // KeyID of Key
	Source string // the file it came from
}

func (k *PublicKey) String() string { return k.ID + " (" + k.Source + ")" }

// KeyID names a public key: "sha256:" and the first 16 hex digits of the
// SHA-256 of its PKIX DER encoding (what `openssl pkey -pubin -outform DER |
// sha256sum` prints).
func KeyID(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "unknown"
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// GenerateKeyPair makes an ECDSA P-256 key pair. The private key is PEM in
// cosign's encrypted format (ENCRYPTED SIGSTORE PRIVATE KEY: scrypt and
// secretbox over PKCS#8) with password (which may be empty, as cosign
// allows), so `cosign sign --key` takes it; the public key is PKIX PEM.
func GenerateKeyPair(password []byte) (privPEM, pubPEM []byte, err error) {
	if password == nil {
		password = []byte{}
	}
	return cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc(password))
}

// WriteKeyPair writes a new key pair as prefix.key (mode 0600) and
// prefix.pub (0644). It refuses to overwrite either file.
func WriteKeyPair(prefix string, password []byte) (keyFile, pubFile string, err error) {
	keyFile, pubFile = prefix+".key", prefix+".pub"
	for _, f := range []string{keyFile, pubFile} {
		if _, err := os.Lstat(f); err == nil {
			return "", "", fmt.Errorf("%s exists: not overwriting a key", f)
		}
	}
	priv, pub, err := GenerateKeyPair(password)
	if err != nil {
		return "", "", fmt.Errorf("generate key: %w", err)
	}
	if err := writeNew(keyFile, priv, 0o600); err != nil {
		return "", "", err
	}
	if err := writeNew(pubFile, pub, 0o644); err != nil {
		os.Remove(keyFile)
		return "", "", err
	}
	return keyFile, pubFile, nil
}

// writeNew creates file (it must not exist) with data and mode perm.
func writeNew(file string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(file)
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// LoadSigner reads a private key from file: cosign's encrypted PEM
// (decrypted with password), PKCS#8, SEC 1 (EC PRIVATE KEY) or PKCS#1. A
// public key file is ErrNotPrivateKey.
func LoadSigner(file string, password []byte) (crypto.Signer, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("private key %s: not a PEM file", file)
	}
	if strings.Contains(block.Type, "PUBLIC KEY") || block.Type == "CERTIFICATE" {
		return nil, fmt.Errorf("private key %s: %w (PEM type %q); sign with the .key file", file, ErrNotPrivateKey, block.Type)
	}
	if password == nil {
		password = []byte{}
	}
	k, err := cryptoutils.UnmarshalPEMToPrivateKey(data, cryptoutils.StaticPasswordFunc(password))
	if err != nil {
		if strings.HasPrefix(block.Type, "ENCRYPTED") {
			return nil, fmt.Errorf("private key %s: cannot decrypt it (wrong password in $%s?): %w", file, PasswordEnv, err)
		}
		return nil, fmt.Errorf("private key %s: %w", file, err)
	}
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		return k, nil
	case *rsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("private key %s: unsupported key type %T", file, k)
}

// ParsePublicKey reads a PKIX PEM public key (cosign's KEY.pub); source
// names it in messages.
func ParsePublicKey(data []byte, source string) (*PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("public key %s: not a PEM file", source)
	}
	if strings.Contains(block.Type, "PRIVATE KEY") {
		return nil, fmt.Errorf("public key %s: this is a private key (PEM type %q); give the .pub file", source, block.Type)
	}
	k, err := cryptoutils.UnmarshalPEMToPublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", source, err)
	}
	switch k.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey, ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("public key %s: unsupported key type %T", source, k)
	}
	return &PublicKey{Key: k, ID: KeyID(k), Source: source}, nil
}

// LoadPublicKeys reads the public key files.
func LoadPublicKeys(files ...string) ([]*PublicKey, error) {
	var keys []*PublicKey
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		k, err := ParsePublicKey(data, f)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// PasswordFromEnv returns $COSIGN_PASSWORD, or an empty password.
func PasswordFromEnv() []byte { return []byte(os.Getenv(PasswordEnv)) }
