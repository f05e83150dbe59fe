package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/mode-build/mode/boot/initramfs"
)

// addSiteCA makes the initramfs of opts trust the CA certificates in caFile:
// they join its CA bundle (which the init's HTTPS pulls use) and are carried
// as /etc/mode/ca.crt, which the init hands on to the booted system for mode
// save --push. cleanup removes the bundle made for it.
func addSiteCA(opts *initramfs.Options, caFile string) (cleanup func(), err error) {
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--ca: %w", err)
	}
	if block, _ := pem.Decode(ca); block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("--ca %s: not a PEM certificate", caFile)
	} else if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return nil, fmt.Errorf("--ca %s: %w", caFile, err)
	}
	var bundle []byte
	if opts.CACerts != "" {
		if bundle, err = os.ReadFile(opts.CACerts); err != nil {
			return nil, fmt.Errorf("CA bundle: %w", err)
		}
		if len(bundle) > 0 && bundle[len(bundle)-1] != '\n' {
			bundle = append(bundle, '\n')
		}
	}
	f, err := os.CreateTemp("", "mode-ca-bundle-*.crt")
	if err != nil {
		return nil, err
	}
	cleanup = func() { os.Remove(f.Name()) }
	if _, err := f.Write(append(bundle, ca...)); err != nil {
		f.Close()
		cleanup()
		return nil, err
	}
	if err := f.Close(); err != nil {
		cleanup()
		return nil, err
	}
	opts.CACerts = f.Name()
	opts.Files = append(opts.Files, initramfs.File{Source: caFile, Name: "etc/mode/ca.crt", Mode: 0o644})
	return cleanup, nil
}

// speaksTLS reports whether the registry of ref (HOST:PORT/…) answers a TLS
// handshake. It only probes; the guest verifies the certificate.
func speaksTLS(ref string) bool {
	host, _, _ := strings.Cut(ref, "/")
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", host, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
