package pxe_test

import (
	"fmt"
	"net"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
	"github.com/mode-build/mode/boot/pxe"
)

// A BIOS PXE ROM is told to load iPXE by TFTP from the proxy; iPXE, which
// says so in its user class, gets mode serve's boot script. Neither gets an
// address.
func ExampleProxy_Answer() {
	p := &pxe.Proxy{ServerIP: net.IPv4(192, 168, 1, 10), ScriptURL: "http://192.168.1.10:5000/boot/boot.ipxe"}
	mac := net.HardwareAddr{0x52, 0x54, 0, 0, 0, 1}
	rom, _ := dhcpv4.NewDiscovery(mac,
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")),
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.INTEL_X86PC)))
	offer, _ := p.Answer(rom)
	fmt.Println(offer.MessageType(), offer.YourIPAddr, offer.ServerIPAddr, offer.BootFileName)

	ipxe, _ := dhcpv4.NewDiscovery(mac,
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")),
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.INTEL_X86PC)),
		dhcpv4.WithOption(dhcpv4.OptUserClass("iPXE")))
	offer, _ = p.Answer(ipxe)
	fmt.Println(offer.MessageType(), offer.YourIPAddr, offer.ServerIPAddr, offer.BootFileName)

	plain, _ := dhcpv4.NewDiscovery(mac)
	_, err := p.Answer(plain)
	fmt.Println(err != nil)
	// Output:
	// OFFER 0.0.0.0 192.168.1.10 undionly.kpxe
	// OFFER 0.0.0.0 192.168.1.10 http://192.168.1.10:5000/boot/boot.ipxe
	// true
}
