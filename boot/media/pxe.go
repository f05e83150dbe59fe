package media

import (
	"fmt"
	neturl "net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// iPXE from Debian's ipxe package: undionly.kpxe runs on any BIOS PXE ROM
// (through its UNDI driver), ipxe.efi on any UEFI one.
const ipxeDir = "/usr/lib/ipxe"

// PXE files of a TFTP root.
var pxeFiles = map[string]string{"undionly.kpxe": "undionly.kpxe", "ipxe.efi": "ipxe.efi"}

// chainTag is what boot.ipxe?chain= takes (internal/netboot).
var chainTag = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

// serverName is what --server may be: HOST[:PORT].
var serverName = regexp.MustCompile(`^[A-Za-z0-9.\-\[\]:]+$`)

// WritePXE lays out a TFTP root in dir for machines whose NIC has no iPXE:
// Debian's iPXE for BIOS and UEFI, boot.ipxe chaining into mode serve's
// /boot/boot.ipxe on server (HOST:PORT) for chain ("" for the server's
// --boot-chain), and dnsmasq.conf, a snippet for a DHCP/TFTP server that
// hands each client what it needs; with httpBoot, UEFI HTTP boot clients get
// mode serve's signed UKI (Secure Boot). It returns the files written.
func WritePXE(dir, server, chain string, httpBoot bool) ([]string, error) {
	if !serverName.MatchString(server) {
		return nil, fmt.Errorf("--server %q: want HOST:PORT of mode serve", server)
	}
	if chain != "" && !chainTag.MatchString(chain) {
		return nil, fmt.Errorf("--chain %q: not a chain's tag (mode serve's boot.ipxe?chain= takes letters, digits, '.', '_', '-')", chain)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("TFTP root %s: not a directory", dir)
	}
	var written []string
	for name, src := range pxeFiles {
		if err := copyFile(filepath.Join(ipxeDir, src), filepath.Join(dir, name)); err != nil {
			return nil, fmt.Errorf("%w (install ipxe)", err)
		}
		written = append(written, name)
	}
	url := "http://" + server + "/boot/boot.ipxe"
	if chain != "" {
		url += "?chain=" + neturl.QueryEscape(chain)
	}
	files := map[string]string{
		"boot.ipxe":    "#!ipxe\n# mode netboot: iPXE chains into mode serve's boot script.\ndhcp\nchain " + url + "\n",
		"dnsmasq.conf": dnsmasqConf(dir, server, httpBoot),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return nil, err
		}
		written = append(written, name)
	}
	return written, nil
}

// dnsmasqConf is the snippet for dnsmasq serving the TFTP root dir: a PXE
// ROM gets iPXE for its firmware; iPXE (DHCP option 175) gets boot.ipxe,
// which breaks the loop iPXE would otherwise run into. UEFI HTTP boot
// clients under Secure Boot (which refuses iPXE) get mode serve's signed UKI
// on server with httpBoot; without it those lines are there commented out,
// as they need serve --secure-boot-key.
func dnsmasqConf(dir, server string, httpBoot bool) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	lines := []string{
		"# mode netboot: PXE boot for machines whose NIC has no iPXE. Include it in",
		"# dnsmasq's configuration (conf-file=" + filepath.Join(abs, "dnsmasq.conf") + ").",
		"enable-tftp",
		"tftp-root=" + abs,
		"dhcp-match=set:ipxe,175",
		"dhcp-match=set:efi64,option:client-arch,7",
		"dhcp-match=set:efi64,option:client-arch,9",
	}
	// An HTTP boot client (client-arch 16) is neither iPXE nor efi64: the
	// PXE lines exclude it by its tag, so the lines' order does not matter.
	pxe := ""
	http := []string{
		"dhcp-vendorclass=set:efihttp,HTTPClient",
		"dhcp-option-force=tag:efihttp,60,HTTPClient",
		"dhcp-boot=tag:efihttp,http://" + server + "/boot/mode.efi",
	}
	if httpBoot {
		lines = append(lines, "# UEFI HTTP boot (Secure Boot refuses iPXE): the chain's unified kernel image,",
			"# signed with the site's key (mode serve --secure-boot-key KEY --secure-boot-cert CERT).")
		lines = append(lines, http...)
		pxe = "tag:!efihttp,"
	}
	lines = append(lines,
		"dhcp-boot=tag:!ipxe,tag:!efi64,"+pxe+"undionly.kpxe",
		"dhcp-boot=tag:!ipxe,tag:efi64,"+pxe+"ipxe.efi",
		"dhcp-boot=tag:ipxe,boot.ipxe",
		"# Where another DHCP server hands out addresses, answer as a proxy only:",
		"# dhcp-range=192.168.1.0,proxy",
		"# pxe-service=tag:!ipxe,x86PC,\"mode\",undionly",
		"# pxe-service=tag:!ipxe,X86-64_EFI,\"mode\",ipxe.efi",
	)
	if !httpBoot {
		lines = append(lines, "# UEFI HTTP boot under Secure Boot, which refuses iPXE: the chain's unified kernel",
			"# image signed with the site's key (mode serve --secure-boot-key KEY --secure-boot-cert CERT;",
			"# mode netboot --http-boot writes them in force, and tag:!efihttp in the PXE lines).")
		for _, l := range http {
			lines = append(lines, "# "+l)
		}
	}
	return strings.Join(append(lines, ""), "\n")
}
