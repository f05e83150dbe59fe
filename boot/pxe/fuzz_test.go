package pxe

import (
	"net"
	"strings"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// FuzzAnswer: any packet parses and is answered or refused without a panic;
// an answer never carries an address.
func FuzzAnswer(f *testing.F) {
	for _, r := range []*dhcpv4.DHCPv4{
		pxeRequest(dhcpv4.MessageTypeDiscover, testMAC, pxeClient(iana.INTEL_X86PC)),
		pxeRequest(dhcpv4.MessageTypeRequest, testMAC, pxeClient(iana.EFI_X86_64), ipxe),
		pxeRequest(dhcpv4.MessageTypeDiscover, testMAC),
	} {
		f.Add(r.ToBytes())
	}
	p := &Proxy{ServerIP: net.IPv4(10, 231, 0, 1).To4(), ScriptURL: testURL}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := dhcpv4.FromBytes(b)
		if err != nil {
			return
		}
		resp, err := p.Answer(req)
		if err != nil {
			return
		}
		if !resp.YourIPAddr.IsUnspecified() {
			t.Fatalf("an answer with an address: %s", resp.Summary())
		}
		if _, err := dhcpv4.FromBytes(resp.ToBytes()); err != nil {
			t.Fatalf("the answer does not parse: %v", err)
		}
	})
}

// FuzzTFTPName: no name that clean accepts leaves the root.
func FuzzTFTPName(f *testing.F) {
	for _, s := range []string{"undionly.kpxe", "../x", "/a/../../b", "a\\..\\..\\b", "a/./b", "", "/", "...", "a//b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p, err := clean(name)
		if err != nil {
			return
		}
		if p == "" || strings.HasPrefix(p, "/") || p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") {
			t.Fatalf("clean(%q) = %q", name, p)
		}
		if _, err := parseRequest([]byte("\x00\x01" + name + "\x00octet\x00")); err != nil && !strings.Contains(name, "\x00") {
			t.Fatalf("parseRequest of %q: %v", name, err)
		}
	})
}
