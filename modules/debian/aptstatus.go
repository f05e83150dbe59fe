package debian

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
)

// StatusFd is apt-get's status descriptor in a build step: the first of
// chroot.Options.ExtraFiles, the write end of an AptStatus pipe. Never
// stderr: apt-get marks its status descriptor close-on-exec before it runs
// dpkg, so with APT::Status-Fd=2 dpkg, dpkg-deb and every maintainer script
// ran without a descriptor 2. The first file or pipe dpkg opened took its
// place, what they wrote to "stderr" went into it (an unpack failed on a
// corrupted stream), and dpkg's own error message was lost.
const StatusFd = 3

// WithStatusFd returns apt-get's argv with APT::Status-Fd=StatusFd after
// argv[0]: apt-get writes its machine-readable status lines (dlstatus,
// pmstatus, pmerror...) there.
func WithStatusFd(argv []string) []string {
	opt := []string{"-o", "APT::Status-Fd=" + strconv.Itoa(StatusFd)}
	return append(append(append([]string{}, argv[:1]...), opt...), argv[1:]...)
}

// statusPrefixes start the lines apt-get writes to APT::Status-Fd.
var statusPrefixes = []string{"dlstatus:", "pmstatus:", "pmerror:", "pmconffile:", "media-change:"}

// ParseAptStatus parses one line apt-get wrote to APT::Status-Fd:
// "dlstatus:ID:PERCENT:MSG" or "pmstatus:PKG:PERCENT:MSG" (PKG may be
// "name:arch"). ok is false for other lines; status is true for any of
// apt's status lines, percent only known (ok) for dlstatus and pmstatus.
func ParseAptStatus(line string) (percent float64, ok, status bool) {
	line = strings.TrimRight(line, "\r\n")
	for _, p := range statusPrefixes {
		if strings.HasPrefix(line, p) {
			status = true
		}
	}
	rest, dl := strings.CutPrefix(line, "dlstatus:")
	if !dl {
		var pm bool
		if rest, pm = strings.CutPrefix(line, "pmstatus:"); !pm {
			return 0, false, status
		}
	}
	if _, percent, _, ok := splitStatus(rest); ok {
		return percent, true, true
	}
	return 0, false, true
}

// splitStatus splits "PKG:PERCENT:MSG", where PKG may be "name:arch" and
// MSG may hold colons.
func splitStatus(rest string) (pkg string, percent float64, msg string, ok bool) {
	f := strings.SplitN(rest, ":", 4)
	for _, i := range []int{1, 2} {
		if i >= len(f)-1 { // a message follows the percent
			break
		}
		if v, err := strconv.ParseFloat(f[i], 64); err == nil && v >= 0 && v <= 100 {
			return strings.Join(f[:i], ":"), v, strings.Join(f[i+1:], ":"), true
		}
	}
	return "", 0, "", false
}

// Failure is a package apt-get reported failed on its status descriptor:
// the package and dpkg's own message.
type Failure struct {
	Package, Message string
}

func (f Failure) String() string { return f.Package + ": " + f.Message }

// ParseAptError parses a "pmerror:PKG:PERCENT:MSG" line. An archive that
// failed to unpack is named by its path in PKG: its package is the file
// name up to the first "_" (name_version_arch.deb), or without ".deb".
func ParseAptError(line string) (Failure, bool) {
	rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "pmerror:")
	if !ok {
		return Failure{}, false
	}
	pkg, _, msg, ok := splitStatus(rest)
	if !ok {
		return Failure{}, false
	}
	pkg = strings.TrimSpace(pkg)
	if strings.HasSuffix(pkg, ".deb") {
		pkg, _, _ = strings.Cut(strings.TrimSuffix(path.Base(pkg), ".deb"), "_")
	}
	return Failure{Package: pkg, Message: strings.TrimSpace(msg)}, true
}

// AptStatus reads apt-get's status lines from a pipe: apt-get has its
// write end, W, as StatusFd. It tells Percent (when set) the percent of
// each dlstatus and pmstatus line and keeps the pmerror lines' failures.
type AptStatus struct {
	W        *os.File
	r        *os.File
	done     chan struct{}
	failures []Failure
}

// OpenAptStatus makes the pipe and reads it until Close; percent may be nil.
func OpenAptStatus(percent func(float64)) (*AptStatus, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("apt status pipe: %w", err)
	}
	s := &AptStatus{W: w, r: r, done: make(chan struct{})}
	go s.read(r, percent)
	return s, nil
}

func (s *AptStatus) read(r io.Reader, percent func(float64)) {
	defer close(s.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		if p, ok, _ := ParseAptStatus(sc.Text()); ok && percent != nil {
			percent(p)
		}
		if f, ok := ParseAptError(sc.Text()); ok {
			s.failures = append(s.failures, f)
		}
	}
	io.Copy(io.Discard, r) // a line past the buffer: keep apt-get from blocking
}

// Close closes W (apt-get, once it exited, holds it no more), reads the
// last lines and returns the failures apt-get reported.
func (s *AptStatus) Close() []Failure {
	s.W.Close()
	<-s.done
	s.r.Close()
	return s.failures
}

// AptCause says why apt-get failed: the packages dpkg failed on, with
// dpkg's messages, from its status lines, then the cause in its output
// (see Cause).
func AptCause(failures []Failure, out string) string {
	var parts []string
	for _, f := range failures {
		parts = append(parts, f.String())
	}
	return strings.Join(append(parts, Cause(out)), "; ")
}
