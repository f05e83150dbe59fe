package debian

import (
	"slices"
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

// TestParseAptError names the failed package of apt's pmerror lines, from
// a package name or from the path of an archive that did not unpack, and
// keeps dpkg's message whole.
func TestParseAptError(t *testing.T) {
	for _, c := range []struct {
		line string
		want Failure
		ok   bool
	}{
		{"pmerror:/run/mode/apt/archives/mode-fail_1.0_all.deb :40:new mode-fail package pre-installation script subprocess returned error exit status 1\n",
			Failure{"mode-fail", "new mode-fail package pre-installation script subprocess returned error exit status 1"}, true},
		{"pmerror:ucf:all:50.0000:installed ucf package post-installation script subprocess returned error exit status 10",
			Failure{"ucf:all", "installed ucf package post-installation script subprocess returned error exit status 10"}, true},
		{"pmerror:x:20:trying to overwrite '/a:b', which is also in package y", Failure{"x", "trying to overwrite '/a:b', which is also in package y"}, true},
		{"pmerror:/tmp/local.deb:10:new local package pre-installation script subprocess returned error exit status 1",
			Failure{"local", "new local package pre-installation script subprocess returned error exit status 1"}, true},
		{"pmstatus:x:20:Unpacking x", Failure{}, false},
		{"pmerror:broken", Failure{}, false},
	} {
		got, ok := ParseAptError(c.line)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseAptError(%q) = %+v, %v; want %+v, %v", c.line, got, ok, c.want, c.ok)
		}
	}
}

// TestAptStatus reads status lines from the pipe apt-get writes to: the
// percents of dlstatus and pmstatus lines go to Percent, pmerror lines
// become failures, and AptCause puts them before apt's own "E:" lines.
func TestAptStatus(t *testing.T) {
	var got []float64
	s, err := OpenAptStatus(func(p float64) { got = append(got, p) })
	if err != nil {
		t.Fatal(err)
	}
	in := "dlstatus:1:50:Retrieving file 1 of 2\npmstatus:hello:amd64:75:Configuring hello\n" +
		"pmerror:/x/hello_1_all.deb :80:new hello package pre-installation script subprocess returned error exit status 1\n"
	if _, err := s.W.WriteString(in); err != nil {
		t.Fatal(err)
	}
	failures := s.Close()
	if !slices.Equal(got, []float64{50, 75}) {
		t.Errorf("percents %v, want [50 75]", got)
	}
	cause := AptCause(failures, "Unpacking...\nE: Sub-process /usr/bin/dpkg returned an error code (1)\n")
	want := "hello: new hello package pre-installation script subprocess returned error exit status 1; Sub-process /usr/bin/dpkg returned an error code (1)"
	if cause != want {
		t.Errorf("AptCause = %q\nwant %q", cause, want)
	}
}

func TestWithStatusFd(t *testing.T) {
	argv := []string{"apt-get", "-q", "install"}
	got := WithStatusFd(argv)
	if want := []string{"apt-get", "-o", "APT::Status-Fd=3", "-q", "install"}; !slices.Equal(got, want) || argv[1] != "-q" {
		t.Errorf("WithStatusFd = %q (argv now %q), want %q", got, argv, want)
	}
}
