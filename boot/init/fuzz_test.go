package modeinit

import (
	"strings"
	"testing"
)

// FuzzParseParams feeds mutated kernel command lines to the parser: it
// returns parameters or an error naming a mode.* parameter, never panics.
func FuzzParseParams(f *testing.F) {
	for _, s := range []string{
		"console=ttyS0 mode.ref=10.0.2.2:5000/tiny:console mode.insecure ip=dhcp",
		`mode.load="^(base|console)$" mode.noload=extra mode.toram mode.init=/bin/sh`,
		"mode.from=/dev/vdb:layers mode.cache=/dev/vdc mode.changes=/dev/vdd:mode/changes mode.debug",
		`mode.ref=x quiet "a b" mode.token=abc mode.load=( mode.toram=0`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmdline string) {
		p, err := parseParams(cmdline)
		if err != nil {
			if !strings.Contains(err.Error(), "mode.") {
				t.Fatalf("error %q names no parameter", err)
			}
			return
		}
		if p.init == "" && !strings.Contains(cmdline, "mode.init") {
			t.Fatalf("no init from %q", cmdline)
		}
		if p.load != nil {
			p.wanted("base") // a compiled mode.load runs
		}
	})
}
