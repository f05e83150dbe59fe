package main

import (
	"errors"

	"github.com/mode-build/mode/boot/netboot"
	"github.com/mode-build/mode/boot/uki"
	"github.com/urfave/cli/v3"
)

// secureBootFlags are mode serve's Secure Boot netboot flags: with them,
// /boot/uki/REPO/TAG/mode.efi and /boot/mode.efi serve each chain's unified
// kernel image signed with the site's key (UEFI HTTP boot; docs/media.md).
func secureBootFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "secure-boot-key", Usage: "serve /boot/mode.efi and /boot/uki/REPO/TAG/mode.efi: each chain's unified kernel image signed with this PEM `KEY` (UEFI HTTP boot under Secure Boot; docs/media.md)"},
		&cli.StringFlag{Name: "secure-boot-cert", Usage: "the PEM `CERT` of --secure-boot-key, the one enrolled in the machines' db"},
	}
}

// secureBootSigner is the signer of --secure-boot-key and --secure-boot-cert,
// nil without them; checked by netboot.New.
func secureBootSigner(c *cli.Command) (*uki.Signer, error) {
	key, cert := c.String("secure-boot-key"), c.String("secure-boot-cert")
	if key == "" && cert == "" {
		return nil, nil
	}
	if key == "" || cert == "" {
		return nil, errors.New("serve: --secure-boot-key and --secure-boot-cert go together")
	}
	return &uki.Signer{Key: key, Cert: cert}, nil
}

// pxeHTTPBootURL is what serve --pxe's proxyDHCP gives UEFI HTTP boot
// clients: /boot/mode.efi with --secure-boot-key, else nothing.
func pxeHTTPBootURL(c *cli.Command, scheme, host string) string {
	if c.String("secure-boot-key") == "" {
		return ""
	}
	return scheme + "://" + host + "/boot/" + netboot.UKIFile
}
