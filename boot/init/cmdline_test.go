package modeinit

import (
	"net"
	"strings"
	"testing"
	"time"
)

func TestParseParams(t *testing.T) {
	for _, tc := range []struct {
		name, cmdline string
		check         func(p params) bool
		err           string
	}{
		{"ref and defaults", "console=ttyS0 mode.ref=10.0.2.2:5000/mode:console quiet",
			func(p params) bool {
				return p.ref == "10.0.2.2:5000/mode:console" && p.init == "/sbin/init" && !p.insecure && !p.toram && !p.debug
			}, ""},
		{"flags", "mode.ref=r/x:y mode.insecure mode.toram mode.debug mode.cache=/dev/vdb mode.changes=/dev/vdc:/x mode.init=/bin/sh",
			func(p params) bool {
				return p.insecure && p.toram && p.debug && p.cache == "/dev/vdb" && p.changes == "/dev/vdc:/x" && p.init == "/bin/sh"
			}, ""},
		{"flag off", "mode.ref=r/x:y mode.insecure=0", func(p params) bool { return !p.insecure }, ""},
		{"from alone", "mode.from=/dev/vda:/layers", func(p params) bool { return p.from == "/dev/vda:/layers" && p.ref == "" }, ""},
		{"quoted", `mode.ref=r/x:y mode.load="^(a|b c)$"`, func(p params) bool { return p.load.String() == "^(a|b c)$" }, ""},
		{"load and noload", "mode.from=/x mode.load=^(console|extra)$ mode.noload=extra",
			func(p params) bool { return p.wanted("console") && !p.wanted("extra") && !p.wanted("smtp") }, ""},
		{"ip", "mode.ref=r/x:y ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off", func(p params) bool { return p.ip == "10.0.2.15::10.0.2.2:255.255.255.0::eth0:off" }, ""},
		{"changes and token", "mode.ref=r/x:y mode.changes=/dev/vdb:keep mode.token=s3cret",
			func(p params) bool { return p.changes == "/dev/vdb:keep" && p.token == "s3cret" }, ""},
		{"empty token", "mode.ref=r/x:y mode.token=", nil, "mode.token: empty value"},
		{"report token and timeout", "mode.ref=r/x:y mode.report=abc mode.report.timeout=2s",
			func(p params) bool { return p.reportToken == "abc" && p.reportTimeout == 2*time.Second }, ""},
		{"bad report timeout", "mode.ref=r/x:y mode.report.timeout=soon", nil, "mode.report.timeout=soon"},
		{"fetch timeout default", "mode.ref=r/x:y", func(p params) bool { return p.fetchTimeout == 5*time.Minute }, ""},
		{"fetch timeout", "mode.ref=r/x:y mode.fetch.timeout=90s", func(p params) bool { return p.fetchTimeout == 90*time.Second }, ""},
		{"bad fetch timeout", "mode.ref=r/x:y mode.fetch.timeout=soon", nil, "mode.fetch.timeout=soon"},
		{"zero fetch timeout", "mode.ref=r/x:y mode.fetch.timeout=0s", nil, "mode.fetch.timeout=0s: not a duration greater than zero"},
		{"nothing to boot", "console=ttyS0", nil, "neither mode.ref nor mode.from"},
		{"lazy default off", "mode.ref=r/x:y", func(p params) bool { return !p.lazy }, ""},
		{"lazy on", "mode.ref=r/x:y mode.lazy=on", func(p params) bool { return p.lazy }, ""},
		{"lazy off", "mode.ref=r/x:y mode.lazy=on mode.lazy=off", func(p params) bool { return !p.lazy }, ""},
		{"bad lazy", "mode.ref=r/x:y mode.lazy=yes", nil, "mode.lazy=yes: want on or off"},
		{"bad regexp", "mode.ref=r/x:y mode.load=(", nil, "mode.load=("},
		{"relative init", "mode.ref=r/x:y mode.init=sbin/init", nil, "not an absolute path"},
		{"empty ref", "mode.ref= mode.from=/x", nil, "mode.ref: empty value"},
		{"mirrors", "mode.ref=10.0.2.2:5000/mode:tiny mode.mirrors=10.0.2.2:5001,cache.lan",
			func(p params) bool { return strings.Join(p.mirrors, " ") == "10.0.2.2:5001 cache.lan" }, ""},
		{"mirrors with a path", "mode.ref=r/x:y mode.mirrors=a:5001/mode", nil, `mode.mirrors=a:5001/mode: mirror list "a:5001/mode": "a:5001/mode" is not HOST[:PORT]`},
		{"mirrors with an empty entry", "mode.ref=r/x:y mode.mirrors=a,,b", nil, `mode.mirrors=a,,b: mirror list "a,,b": an empty host`},
		{"mirrors empty", "mode.ref=r/x:y mode.mirrors=", nil, `mode.mirrors=: mirror list "": an empty host`},
		{"mirrors without ref", "mode.from=/dev/vda mode.mirrors=a", nil, "mode.mirrors without mode.ref"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parseParams(tc.cmdline)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(p) {
				t.Errorf("%q parsed as %+v", tc.cmdline, p)
			}
		})
	}
}

func TestParseIP(t *testing.T) {
	for _, tc := range []struct {
		spec                 string
		off, static          bool
		client, gw, dev, err string
		bits                 int
	}{
		{spec: ""},
		{spec: "dhcp"},
		{spec: "off", off: true},
		{spec: "none", off: true},
		{spec: ":::::eth1:dhcp", dev: "eth1"},
		{spec: "10.0.2.15::10.0.2.2:255.255.255.0::eth0:off", static: true, client: "10.0.2.15", gw: "10.0.2.2", dev: "eth0", bits: 24},
		{spec: "192.168.1.9:::::", static: true, client: "192.168.1.9", bits: 24},
		{spec: "10.1.2.3::::::::8.8.8.8", static: true, client: "10.1.2.3", bits: 8},
		{spec: "10.0.2.x", err: "bad client address"},
		{spec: "10.0.2.15::gw", err: "bad gateway"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			c, err := parseIP(tc.spec)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.off != tc.off || c.static() != tc.static || c.device != tc.dev {
				t.Fatalf("parsed %+v", c)
			}
			if tc.static {
				if !c.client.Equal(net.ParseIP(tc.client)) || maskBits(c.mask) != tc.bits {
					t.Errorf("client %s/%d, want %s/%d", c.client, maskBits(c.mask), tc.client, tc.bits)
				}
				if tc.gw != "" && !c.gateway.Equal(net.ParseIP(tc.gw)) {
					t.Errorf("gateway %s, want %s", c.gateway, tc.gw)
				}
			}
		})
	}
}

func TestSplitCmdline(t *testing.T) {
	got := splitCmdline("a  b=\"c d\"\te\n")
	want := []string{"a", "b=c d", "e"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}
