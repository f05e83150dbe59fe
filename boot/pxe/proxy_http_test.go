package pxe

import (
	"errors"
	"net"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

func httpClient(arch iana.Arch) dhcpv4.Modifier {
	return func(d *dhcpv4.DHCPv4) {
		d.UpdateOption(dhcpv4.OptClassIdentifier("HTTPClient:Arch:00016:UNDI:003001"))
		d.UpdateOption(dhcpv4.OptClientArch(arch))
	}
}

// TestAnswerHTTPClient: a UEFI HTTP boot client (Secure Boot: no iPXE) is
// given the signed UKI's URL in an answer of class HTTPClient, without the
// PXE vendor options; without serve --secure-boot-key, or for another
// architecture, it gets no answer.
func TestAnswerHTTPClient(t *testing.T) {
	const uki = "http://10.231.0.1:5000/boot/mode.efi"
	p := &Proxy{ServerIP: net.IPv4(10, 231, 0, 1).To4(), ScriptURL: testURL, HTTPBootURL: uki}
	for _, typ := range []dhcpv4.MessageType{dhcpv4.MessageTypeDiscover, dhcpv4.MessageTypeRequest} {
		req, err := dhcpv4.FromBytes(pxeRequest(typ, testMAC, httpClient(iana.EFI_X86_64_HTTP)).ToBytes())
		if err != nil {
			t.Fatal(err)
		}
		resp, err := p.Answer(req)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if resp, err = dhcpv4.FromBytes(resp.ToBytes()); err != nil {
			t.Fatal(err)
		}
		if got := resp.BootFileName + resp.BootFileNameOption(); got != uki {
			t.Errorf("%s: boot file %q, want %q", typ, got, uki)
		}
		if resp.ClassIdentifier() != "HTTPClient" || !resp.YourIPAddr.IsUnspecified() || resp.Options.Has(dhcpv4.OptionVendorSpecificInformation) {
			t.Errorf("%s: class %q, address %s, PXE options %v: want HTTPClient, none, none", typ, resp.ClassIdentifier(), resp.YourIPAddr, resp.Options.Has(dhcpv4.OptionVendorSpecificInformation))
		}
	}
	if _, err := p.Answer(pxeRequest(dhcpv4.MessageTypeDiscover, testMAC, httpClient(iana.EFI_ARM64_HTTP))); !errors.Is(err, ErrArch) {
		t.Errorf("arm64 HTTP client: %v, want ErrArch", err)
	}
	p.HTTPBootURL = ""
	if _, err := p.Answer(pxeRequest(dhcpv4.MessageTypeDiscover, testMAC, httpClient(iana.EFI_X86_64_HTTP))); !errors.Is(err, ErrNoHTTPBoot) {
		t.Errorf("without an HTTP boot URL: %v, want ErrNoHTTPBoot", err)
	}
}
