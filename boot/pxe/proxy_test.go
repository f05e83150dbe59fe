package pxe

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

var (
	testMAC = net.HardwareAddr{0x52, 0x54, 0, 0xaa, 0, 1}
	testURL = "http://10.231.0.1:5000/boot/boot.ipxe"
)

// pxeRequest is a request as a PXE ROM (or iPXE) sends it.
func pxeRequest(typ dhcpv4.MessageType, mac net.HardwareAddr, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	d := &dhcpv4.DHCPv4{
		OpCode:        dhcpv4.OpcodeBootRequest,
		HWType:        iana.HWTypeEthernet,
		TransactionID: dhcpv4.TransactionID{1, 2, 3, 4},
		ClientIPAddr:  net.IPv4zero,
		YourIPAddr:    net.IPv4zero,
		ServerIPAddr:  net.IPv4zero,
		GatewayIPAddr: net.IPv4zero,
		ClientHWAddr:  mac,
		Options:       dhcpv4.Options{},
	}
	d.UpdateOption(dhcpv4.OptMessageType(typ))
	for _, m := range mods {
		m(d)
	}
	return d
}

func pxeClient(arch iana.Arch) dhcpv4.Modifier {
	return func(d *dhcpv4.DHCPv4) {
		d.UpdateOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:0000" + string(rune('0'+arch)) + ":UNDI:002001"))
		d.UpdateOption(dhcpv4.OptClientArch(arch))
		d.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionClientMachineIdentifier, append([]byte{0}, make([]byte, 16)...)))
	}
}

func ipxe(d *dhcpv4.DHCPv4) { d.UpdateOption(dhcpv4.OptUserClass("iPXE")) }

func TestAnswer(t *testing.T) {
	p := &Proxy{ServerIP: net.IPv4(10, 231, 0, 1).To4(), ScriptURL: testURL,
		Known: func(mac net.HardwareAddr) bool { return mac[5] != 0x99 }}
	other := net.HardwareAddr{0x52, 0x54, 0, 0xaa, 0, 0x99}
	for _, tc := range []struct {
		name     string
		req      *dhcpv4.DHCPv4
		wantType dhcpv4.MessageType
		wantFile string
		wantErr  error
	}{
		{"BIOS discover", pxeRequest(dhcpv4.MessageTypeDiscover, testMAC, pxeClient(iana.INTEL_X86PC)), dhcpv4.MessageTypeOffer, BIOSFile, nil},
		{"UEFI x86-64 discover", pxeRequest(dhcpv4.MessageTypeDiscover, testMAC, pxeClient(iana.EFI_X86_64)), dhcpv4.MessageTypeOffer, UEFIFile, nil},
		{"EFI BC discover", pxeRequest(dhcpv4.MessageTypeDiscover, testMAC, pxeClient(iana.EFI_BC)), dhcpv4.MessageTypeOffer, UEFIFile, nil},
		{"UEFI ProxyDHCPREQUEST", pxeRequest(dhcpv4.MessageTypeRequest, testMAC, pxeClient(iana.EFI_X86_64)), dhcpv4.MessageTypeAck, UEFIFile, nil},
		{"iPXE BIOS", pxeRequest(dhcpv4.MessageTypeDiscover, testMAC, pxeClient(iana.INTEL_X86PC), ipxe), dhcpv4.MessageTypeOffer, testURL, nil},
		{"iPXE UEFI request", pxeRequest(dhcpv4.MessageTypeRequest, testMAC, pxeClient(iana.EFI_X86_64), ipxe), dhcpv4.MessageTypeAck, testURL, nil},
		{"iPXE by option 175", pxeRequest(dhcpv4.MessageTypeDiscover, testMAC, pxeClient(iana.INTEL_X86PC),
			dhcpv4.WithGeneric(dhcpv4.OptionEtherboot, []byte{0xb1, 1, 1})), dhcpv4.MessageTypeOffer, testURL, nil},
		{"plain DHCP client", pxeRequest(dhcpv4.MessageTypeDiscover, testMAC), 0, "", ErrNotPXE},
		{"vendor class without arch", pxeRequest(dhcpv4.MessageTypeDiscover, testMAC,
			dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient"))), 0, "", ErrNotPXE},
		{"arch 6 (UEFI IA32)", pxeRequest(dhcpv4.MessageTypeDiscover, testMAC, pxeClient(iana.EFI_IA32)), 0, "", ErrArch},
		{"release", pxeRequest(dhcpv4.MessageTypeRelease, testMAC, pxeClient(iana.INTEL_X86PC)), 0, "", ErrMessage},
		{"machine the site does not know", pxeRequest(dhcpv4.MessageTypeDiscover, other, pxeClient(iana.INTEL_X86PC)), 0, "", ErrUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Through the wire format, as a client would read it.
			req, err := dhcpv4.FromBytes(tc.req.ToBytes())
			if err != nil {
				t.Fatal(err)
			}
			resp, err := p.Answer(req)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Answer: %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if resp, err = dhcpv4.FromBytes(resp.ToBytes()); err != nil {
				t.Fatal(err)
			}
			checkAnswer(t, resp, req, tc.wantType, tc.wantFile, p.ServerIP)
		})
	}
}

// checkAnswer checks a proxy answer to req: type, file, next-server, no
// address, vendor class PXEClient, the client's xid, MAC and GUID.
func checkAnswer(t *testing.T, resp, req *dhcpv4.DHCPv4, typ dhcpv4.MessageType, file string, server net.IP) {
	t.Helper()
	if resp.MessageType() != typ {
		t.Errorf("type %s, want %s", resp.MessageType(), typ)
	}
	if got := resp.BootFileName + resp.BootFileNameOption(); got != file {
		t.Errorf("boot file %q, want %q", got, file)
	}
	if !resp.ServerIPAddr.Equal(server) || !resp.ServerIdentifier().Equal(server) {
		t.Errorf("next-server %s, server id %s, want %s", resp.ServerIPAddr, resp.ServerIdentifier(), server)
	}
	if !resp.YourIPAddr.IsUnspecified() {
		t.Errorf("the proxy offered an address: %s", resp.YourIPAddr)
	}
	if resp.ClassIdentifier() != "PXEClient" {
		t.Errorf("vendor class %q, want PXEClient", resp.ClassIdentifier())
	}
	if resp.TransactionID != req.TransactionID || resp.ClientHWAddr.String() != req.ClientHWAddr.String() {
		t.Errorf("xid %s mac %s, want %s %s", resp.TransactionID, resp.ClientHWAddr, req.TransactionID, req.ClientHWAddr)
	}
	if g := req.Options.Get(dhcpv4.OptionClientMachineIdentifier); g != nil && string(resp.Options.Get(dhcpv4.OptionClientMachineIdentifier)) != string(g) {
		t.Errorf("GUID not echoed")
	}
}

func TestAnswerLongURL(t *testing.T) {
	long := "http://10.231.0.1:5000/boot/boot.ipxe?chain=" + strings.Repeat("x", 100)
	p := &Proxy{ServerIP: net.IPv4(10, 231, 0, 1).To4(), ScriptURL: long}
	resp, err := p.Answer(pxeRequest(dhcpv4.MessageTypeDiscover, testMAC, pxeClient(0), ipxe))
	if err != nil {
		t.Fatal(err)
	}
	if resp.BootFileName != "" || resp.BootFileNameOption() != long {
		t.Errorf("a URL of %d bytes goes in option 67, got file %q option %q", len(long), resp.BootFileName, resp.BootFileNameOption())
	}
}

// BenchmarkAnswer times the proxyDHCP decision alone: a PXE ROM's
// DHCPDISCOVER parsed from the wire, answered (Answer) and encoded, with
// known machines (Known) as a site has them. make bench runs it once: each
// run answers answerCalls requests and reports the time per answer.
func BenchmarkAnswer(b *testing.B) {
	const answerCalls = 20000
	for _, known := range []int{0, 1000} {
		b.Run(fmt.Sprintf("known=%d", known), func(b *testing.B) {
			p := &Proxy{ServerIP: net.IPv4(10, 231, 0, 1).To4(), ScriptURL: testURL}
			if known > 0 {
				macs := map[string]bool{testMAC.String(): true}
				for i := range known - 1 {
					macs[net.HardwareAddr{0x52, 0x54, 1, 0, byte(i >> 8), byte(i)}.String()] = true
				}
				p.Known = func(mac net.HardwareAddr) bool { return macs[mac.String()] }
			}
			wire := pxeRequest(dhcpv4.MessageTypeDiscover, testMAC, pxeClient(0)).ToBytes()
			b.ReportAllocs()
			for b.Loop() {
				t := time.Now()
				for range answerCalls {
					req, err := dhcpv4.FromBytes(wire)
					if err != nil {
						b.Fatal(err)
					}
					resp, err := p.Answer(req)
					if err != nil || resp == nil {
						b.Fatalf("answer %v, %v", resp, err)
					}
					_ = resp.ToBytes()
				}
				b.ReportMetric(float64(time.Since(t).Nanoseconds())/answerCalls, "ns/answer")
			}
		})
	}
}
