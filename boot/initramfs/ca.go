package initramfs

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

// AddCA makes the initramfs of opts trust the CA certificates in caFile (a
// site CA: mode serve --tls auto): they join its CA bundle (which the init's
// HTTPS pulls use) and are carried as /etc/mode/ca.crt, which the init hands
// on to the booted system for mode save --push. cleanup removes the bundle
// made for it, once the initramfs is built.
func AddCA(opts *Options, caFile string) (cleanup func(), err error) {
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	if block, _ := pem.Decode(ca); block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: not a PEM certificate", caFile)
	} else if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return nil, fmt.Errorf("%s: %w", caFile, err)
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
	opts.Files = append(opts.Files, File{Source: caFile, Name: "etc/mode/ca.crt", Mode: 0o644})
	return cleanup, nil
}
