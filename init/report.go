package main

import (
	"context"
	"net"
	"os"
	"strings"
	"time"

	"github.com/mode-build/mode/report"
)

// record keeps a step's duration for the boot report.
func (b *boot) record(name string, d time.Duration, summary string, err error) {
	s := report.Step{Name: name, MS: d.Milliseconds(), Summary: summary}
	if err != nil {
		s.Failed = true
	}
	b.timings = append(b.timings, s)
}

// sendReport tells the server the chain came from how the boot went: failed
// names the step that failed with err, "" when every step succeeded. It gives
// up after report.Timeout (mode.report.timeout) and never fails the boot. Only
// boots from a registry report, and only with a token (mode.report, else
// mode.token).
func (b *boot) sendReport(failed string, err error) {
	token := b.p.reportToken
	if token == "" {
		token = b.p.token
	}
	if b.p.from != "" || b.p.ref == "" || token == "" || b.p.reportToken == "0" {
		return
	}
	url, uerr := report.URL(b.p.ref, b.p.insecure)
	if uerr != nil {
		return
	}
	r := &report.Report{Kind: report.KindBoot, Machine: thisMachine(), Ref: b.p.ref, Steps: b.timings, OK: err == nil, Time: time.Now().UTC()}
	if b.dl != nil {
		r.Chain, r.Digest = b.dl.name, b.dl.digest
	}
	if err != nil {
		msg := err.Error()
		if len(msg) > report.MaxMessage {
			msg = msg[:report.MaxMessage]
		}
		r.Failed = &report.Failed{Step: failed, Message: strings.ToValidUTF8(msg, "?")}
	}
	t := time.Now()
	if serr := report.Send(context.Background(), url, token, r, b.p.reportTimeout); serr != nil {
		b.logf("boot report not sent (%v), after %s", serr, seconds(time.Since(t)))
		return
	}
	b.debugf("boot report sent to %s in %s", url, seconds(time.Since(t)))
}

// thisMachine is the first Ethernet interface's MAC and IPv4 address, and
// the host name when one was set.
func thisMachine() report.Machine {
	var m report.Machine
	if h, err := os.Hostname(); err == nil && h != "" && h != "(none)" && h != "localhost" {
		m.Hostname = h
	}
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 || len(i.HardwareAddr) != 6 {
			continue
		}
		m.MAC = i.HardwareAddr.String()
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
				m.IP = n.IP.String()
				break
			}
		}
		if m.IP != "" {
			break
		}
	}
	return m
}
