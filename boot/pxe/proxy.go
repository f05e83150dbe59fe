package pxe

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// The boot files of the TFTP root: Debian's iPXE (package ipxe).
const (
	BIOSFile = "undionly.kpxe" // iPXE over the PXE ROM's UNDI driver, for any BIOS PXE ROM
	UEFIFile = "ipxe.efi"      // iPXE for x86-64 UEFI
)

// IPXEDir is where Debian's ipxe package puts BIOSFile and UEFIFile.
const IPXEDir = "/usr/lib/ipxe"

// Why a request gets no answer (Proxy.Answer's errors, for the debug log).
var (
	ErrNotPXE  = errors.New("not a PXE client (no vendor class PXEClient or no client architecture, option 93)")
	ErrArch    = errors.New("client architecture without a boot file")
	ErrUnknown = errors.New("machine not known to the site")
	// ErrNoHTTPBoot: a UEFI HTTP boot client, and no signed UKI to give it
	// (mode serve --secure-boot-key).
	ErrNoHTTPBoot = errors.New("UEFI HTTP boot client (vendor class HTTPClient), and no HTTP boot URL (serve --secure-boot-key)")
	ErrMessage    = errors.New("message type the proxy does not answer")
)

// Proxy computes proxyDHCP answers: what a PXE client is told to boot. It
// never offers an address (yiaddr stays 0.0.0.0), so it adds to a network's
// DHCP server without competing with it, and a second proxy on the same
// network tells clients the same thing.
type Proxy struct {
	// ServerIP is this server's address on the machines' network: the
	// server identifier and next-server (TFTP) of every answer.
	ServerIP net.IP
	// ScriptURL is what iPXE is given: mode serve's
	// http://HOST:PORT/boot/boot.ipxe.
	ScriptURL string
	// HTTPBootURL, when set, is what UEFI HTTP boot clients (vendor class
	// HTTPClient) are given: mode serve's http://HOST:PORT/boot/mode.efi,
	// the chain's unified kernel image signed with the site's Secure Boot
	// key, which the firmware verifies (netboot.UKIFile). "" leaves them
	// unanswered.
	HTTPBootURL string
	// Known, when not nil, says which machines to answer (by MAC address);
	// the others are left to whatever else boots them.
	Known func(mac net.HardwareAddr) bool
}

// BootFile is what the PXE client req is to load: the boot script's URL for
// iPXE (user class "iPXE", option 77, or iPXE's own option 175), else the
// iPXE for its architecture (option 93): BIOSFile for 0 (x86 BIOS), UEFIFile
// for 7 and 9 (x86-64 UEFI).
func (p *Proxy) BootFile(req *dhcpv4.DHCPv4) (string, error) {
	if isHTTPClient(req) {
		arch := req.ClientArch()
		switch {
		case p.HTTPBootURL == "":
			return "", ErrNoHTTPBoot
		case len(arch) == 0 || (arch[0] != iana.EFI_X86_64_HTTP && arch[0] != iana.EFI_BC_HTTP):
			return "", fmt.Errorf("%w: %v (UEFI HTTP boot)", ErrArch, arch)
		}
		return p.HTTPBootURL, nil
	}
	if !strings.HasPrefix(req.ClassIdentifier(), "PXEClient") || !req.Options.Has(dhcpv4.OptionClientSystemArchitectureType) {
		return "", ErrNotPXE
	}
	arch := req.ClientArch()
	if len(arch) == 0 {
		return "", ErrNotPXE
	}
	if IsIPXE(req) {
		return p.ScriptURL, nil
	}
	switch arch[0] {
	case iana.INTEL_X86PC:
		return BIOSFile, nil
	case iana.EFI_X86_64, iana.EFI_BC:
		return UEFIFile, nil
	}
	return "", fmt.Errorf("%w: %v", ErrArch, arch[0])
}

// isHTTPClient reports whether req comes from UEFI HTTP boot (vendor class
// "HTTPClient:Arch:…", UEFI 2.5, 24.7).
func isHTTPClient(req *dhcpv4.DHCPv4) bool {
	return strings.HasPrefix(req.ClassIdentifier(), "HTTPClient")
}

// IsIPXE reports whether req comes from iPXE itself, which says so with the
// user class "iPXE" (option 77) and its encapsulated options (175).
func IsIPXE(req *dhcpv4.DHCPv4) bool {
	return bytes.Equal(req.Options.Get(dhcpv4.OptionUserClassInformation), []byte("iPXE")) ||
		slices.Contains(req.UserClass(), "iPXE") || req.Options.Has(dhcpv4.OptionEtherboot)
}

// Answer is the proxy's answer to req: a DHCPOFFER to a DHCPDISCOVER (UDP 67)
// and a DHCPACK to a DHCPREQUEST or DHCPINFORM (the ProxyDHCPREQUEST of
// UDP 4011). Both name the boot file and this server as next-server and
// carry no address. Requests it does not answer return an error saying why.
func (p *Proxy) Answer(req *dhcpv4.DHCPv4) (*dhcpv4.DHCPv4, error) {
	if req.OpCode != dhcpv4.OpcodeBootRequest {
		return nil, ErrMessage
	}
	var typ dhcpv4.MessageType
	switch req.MessageType() {
	case dhcpv4.MessageTypeDiscover:
		typ = dhcpv4.MessageTypeOffer
	case dhcpv4.MessageTypeRequest, dhcpv4.MessageTypeInform:
		typ = dhcpv4.MessageTypeAck
	default:
		return nil, ErrMessage
	}
	file, err := p.BootFile(req)
	if err != nil {
		return nil, err
	}
	if p.Known != nil && !p.Known(req.ClientHWAddr) {
		return nil, ErrUnknown
	}
	resp := &dhcpv4.DHCPv4{
		OpCode:        dhcpv4.OpcodeBootReply,
		HWType:        req.HWType,
		TransactionID: req.TransactionID,
		Flags:         req.Flags,
		ClientIPAddr:  req.ClientIPAddr,
		YourIPAddr:    net.IPv4zero,
		ServerIPAddr:  p.ServerIP,
		GatewayIPAddr: req.GatewayIPAddr,
		ClientHWAddr:  req.ClientHWAddr,
		Options:       dhcpv4.Options{},
	}
	if typ == dhcpv4.MessageTypeOffer {
		resp.SetBroadcast()
	}
	resp.UpdateOption(dhcpv4.OptMessageType(typ))
	resp.UpdateOption(dhcpv4.OptServerIdentifier(p.ServerIP))
	// A proxy names itself "PXEClient" (PXE 2.1, 2.4.5): what tells its
	// answer apart from an address offer.
	// A UEFI HTTP boot client takes a proxy answer of class "HTTPClient"
	// with a URL as its boot file.
	class := "PXEClient"
	if isHTTPClient(req) {
		class = "HTTPClient"
	}
	resp.UpdateOption(dhcpv4.OptClassIdentifier(class))
	if guid := req.Options.Get(dhcpv4.OptionClientMachineIdentifier); guid != nil {
		resp.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionClientMachineIdentifier, guid))
	}
	// PXE vendor options: discovery control 8, "boot the file of this
	// answer, no boot server discovery". Left out for UEFI, whose PXE
	// ignores a proxy answer that bypasses discovery and asks again on
	// UDP 4011 instead (as Pixiecore found).
	if file != UEFIFile && !isHTTPClient(req) {
		resp.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionVendorSpecificInformation, []byte{6, 1, 8, 255}))
	}
	// iPXE takes a proxy answer only with both next-server and a file name.
	resp.ServerHostName = p.ServerIP.String()
	if len(file) < 128 {
		resp.BootFileName = file
	} else {
		resp.UpdateOption(dhcpv4.OptBootFileName(file))
	}
	return resp, nil
}
