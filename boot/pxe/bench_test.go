package pxe

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// BenchmarkProxyRoundTrip is the time from a ProxyDHCPREQUEST sent to the
// answer read, through the serving loop on loopback UDP (the 4011 path:
// unicast in, unicast out): p50 and p99 of 2,000 round trips per run.
func BenchmarkProxyRoundTrip(b *testing.B) {
	srvConn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	s := &Server{Proxy: Proxy{ServerIP: net.IPv4(127, 0, 0, 1).To4(), ScriptURL: testURL}, log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.serveDHCP(ctx, srvConn, false) }()
	defer func() { cancel(); <-done }()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := pxeRequest(dhcpv4.MessageTypeRequest, testMAC, pxeClient(iana.EFI_X86_64), dhcpv4.WithClientIP(net.IPv4(127, 0, 0, 1)))
	wire := req.ToBytes()
	buf := make([]byte, 1500)
	const trips = 2000 // make bench runs it once: each run times this many
	var times []time.Duration
	for b.Loop() {
		for range trips {
			t := time.Now()
			if _, err := c.WriteToUDP(wire, srvConn.LocalAddr().(*net.UDPAddr)); err != nil {
				b.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, _, err := c.ReadFromUDP(buf)
			if err != nil {
				b.Fatal(err)
			}
			if resp, err := dhcpv4.FromBytes(buf[:n]); err != nil || resp.MessageType() != dhcpv4.MessageTypeAck {
				b.Fatalf("answer %v, %v", resp, err)
			}
			times = append(times, time.Since(t))
		}
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Nanoseconds()), "ns/p50-trip")
	b.ReportMetric(float64(times[len(times)*99/100].Nanoseconds()), "ns/p99-trip")
}
