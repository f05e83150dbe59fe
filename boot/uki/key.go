package uki

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"time"
)

// Validity is how long a certificate of WriteKey is valid. Firmware does not
// check the dates of db certificates; sbsign and mode do not sign with an
// expired one.
const Validity = 10 * 365 * 24 * time.Hour

// WriteKey makes a Secure Boot signing key for a site: an RSA-2048 key
// (what every firmware verifies) as PREFIX.key (PKCS#8 PEM, 0600), its
// self-signed X.509 certificate for code signing with common name name as
// PREFIX.crt (PEM, for sbsign and efi-updatevar) and PREFIX.cer (DER, what
// firmware setup screens and KeyTool enroll). It refuses to overwrite any of
// them.
func WriteKey(prefix, name string) (Signer, error) {
	s := Signer{Key: prefix + ".key", Cert: prefix + ".crt"}
	der := prefix + ".cer"
	for _, f := range []string{s.Key, s.Cert, der} {
		if _, err := os.Lstat(f); err == nil {
			return s, fmt.Errorf("%s exists: not overwriting it", f)
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return s, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return s, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(Validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
	}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return s, err
	}
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return s, err
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{s.Key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), 0o600},
		{s.Cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert}), 0o644},
		{der, cert, 0o644},
	} {
		fh, err := os.OpenFile(f.name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, f.mode)
		if err != nil {
			return s, err
		}
		_, err = fh.Write(f.data)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return s, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return s, nil
}
