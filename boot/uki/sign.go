package uki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mode-build/mode/internal/proc"
)

// Signer is a Secure Boot signing key and its certificate, PEM files.
type Signer struct {
	Key  string // the private key: PKCS#8 "PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY"
	Cert string // its X.509 certificate, the one the firmware's db holds
}

// Check reads the key and the certificate and fails, naming the file, when
// one is unreadable, when they are not a pair, or when the certificate has
// expired or is not for code signing.
func (s Signer) Check(now time.Time) error {
	key, err := readKey(s.Key)
	if err != nil {
		return err
	}
	cert, err := readCert(s.Cert)
	if err != nil {
		return err
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return fmt.Errorf("UKI signing key %s is not the key of certificate %s", s.Key, s.Cert)
	}
	if now.After(cert.NotAfter) {
		return fmt.Errorf("UKI certificate %s expired on %s", s.Cert, cert.NotAfter.Format(time.DateOnly))
	}
	if len(cert.ExtKeyUsage) > 0 {
		for _, u := range cert.ExtKeyUsage {
			if u == x509.ExtKeyUsageCodeSigning || u == x509.ExtKeyUsageAny {
				return nil
			}
		}
		return fmt.Errorf("UKI certificate %s is not for code signing (no extended key usage codeSigning)", s.Cert)
	}
	return nil
}

// Sign signs the EFI binary in with s (sbsign: an Authenticode signature
// embedded in the PE file), writing out.
func Sign(ctx context.Context, s Signer, in, out string) error {
	if err := s.Check(time.Now()); err != nil {
		return err
	}
	cmd := proc.Command(ctx, "sbsign", "--key", s.Key, "--cert", s.Cert, "--output", out, in)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("sbsign %s: %w: %s (install sbsigntool)", in, err, bytes.TrimSpace(b))
	}
	return nil
}

// Verify checks that file carries a signature by cert (sbverify).
func Verify(ctx context.Context, cert, file string) error {
	cmd := proc.Command(ctx, "sbverify", "--cert", cert, file)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("sbverify %s: %w: %s", file, err, bytes.TrimSpace(b))
	}
	return nil
}

func readPEM(file string) (*pem.Block, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: not a PEM file", file)
	}
	return blk, nil
}

func readKey(file string) (crypto.Signer, error) {
	blk, err := readPEM(file)
	if err != nil {
		return nil, fmt.Errorf("UKI signing key: %w", err)
	}
	var k any
	switch blk.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	case "CERTIFICATE":
		return nil, fmt.Errorf("UKI signing key %s: a certificate, not a private key", file)
	case "ENCRYPTED PRIVATE KEY":
		return nil, fmt.Errorf("UKI signing key %s: encrypted; sbsign reads it only unencrypted (openssl pkey -in %s -out PLAIN.key)", file, file)
	default:
		return nil, fmt.Errorf("UKI signing key %s: PEM %q, want an unencrypted \"PRIVATE KEY\" or \"RSA PRIVATE KEY\"", file, blk.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("UKI signing key %s: %w", file, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("UKI signing key " + file + ": not a signing key")
	}
	return s, nil
}

func readCert(file string) (*x509.Certificate, error) {
	blk, err := readPEM(file)
	if err != nil {
		return nil, fmt.Errorf("UKI certificate: %w", err)
	}
	if blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("UKI certificate %s: PEM %q, want \"CERTIFICATE\"", file, blk.Type)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("UKI certificate %s: %w", file, err)
	}
	return c, nil
}
