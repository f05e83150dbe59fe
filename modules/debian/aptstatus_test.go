package debian

import (
	"bytes"
	"strings"
	"testing"
)

// TestParseAptStatus reads the percent of apt's dlstatus and pmstatus lines,
// with package names that carry an architecture and messages with colons.
func TestParseAptStatus(t *testing.T) {
	for _, c := range []struct {
		line       string
		percent    float64
		ok, status bool
	}{
		{"dlstatus:1:0.0000:Retrieving file 1 of 3\n", 0, true, true},
		{"dlstatus:3:66.6667:Retrieving file 3 of 3", 66.6667, true, true},
		{"pmstatus:dpkg-exec:0:Running dpkg\n", 0, true, true},
		{"pmstatus:libc6:amd64:20.0000:Unpacking libc6:amd64 (2.36-9)\n", 20, true, true},
		{"pmstatus:hello:58.3333:Configuring hello (1:2.10-3)\n", 58.3333, true, true},
		{"pmstatus:2048-qt:amd64:100:Installed 2048-qt:amd64\n", 100, true, true},
		{"pmerror:/var/cache/x.deb:50:trying to overwrite\n", 0, false, true},
		{"pmconffile:/etc/x:20:'/etc/x.dpkg-new' 'y'\n", 0, false, true},
		{"pmstatus:broken\n", 0, false, true},
		{"Get:1 http://mirror.example/debian bookworm/main amd64 hello 2.10-3\n", 0, false, false},
		{"E: Unable to locate package nope\n", 0, false, false},
		{"", 0, false, false},
	} {
		percent, ok, status := ParseAptStatus(c.line)
		if percent != c.percent || ok != c.ok || status != c.status {
			t.Errorf("ParseAptStatus(%q) = %v, %v, %v; want %v, %v, %v", c.line, percent, ok, status, c.percent, c.ok, c.status)
		}
	}
}

// TestStatusFilter passes apt's own output on unchanged, however it is split
// into writes, and takes its status lines out, telling their percent.
func TestStatusFilter(t *testing.T) {
	in := "W: a warning\ndlstatus:1:50:Retrieving file 1 of 2\nE: Unable to locate package nope\npmstatus:hello:amd64:75:Configuring hello\npmerror:x.deb:80:failed\nno newline at the end"
	want := "W: a warning\nE: Unable to locate package nope\nno newline at the end"
	for _, size := range []int{len(in), 7, 1} {
		var out bytes.Buffer
		var got []float64
		f := &StatusFilter{W: &out, Percent: func(p float64) { got = append(got, p) }}
		for s := in; s != ""; {
			n := min(size, len(s))
			if k, err := f.Write([]byte(s[:n])); k != n || err != nil {
				t.Fatalf("Write = %d, %v", k, err)
			}
			s = s[n:]
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if out.String() != want {
			t.Errorf("writes of %d: output %q, want %q", size, out.String(), want)
		}
		if len(got) != 2 || got[0] != 50 || got[1] != 75 {
			t.Errorf("writes of %d: percents %v, want [50 75]", size, got)
		}
		if strings.Contains(out.String(), "status:") {
			t.Errorf("status lines in the output: %q", out.String())
		}
	}
}
