package debian

import (
	"bytes"
	"io"
	"strconv"
	"strings"
)

// StatusFdOption makes apt-get write its machine-readable status lines
// (dlstatus, pmstatus, ...) to its stderr, where a StatusFilter takes them
// out again.
var StatusFdOption = []string{"-o", "APT::Status-Fd=2"}

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
	f := strings.SplitN(rest, ":", 4)
	for _, i := range []int{1, 2} {
		if i >= len(f)-1 { // a message follows the percent
			break
		}
		if v, err := strconv.ParseFloat(f[i], 64); err == nil && v >= 0 && v <= 100 {
			return v, true, true
		}
	}
	return 0, false, true
}

// StatusFilter is a writer for apt-get's stderr with StatusFdOption: it
// passes everything but apt's status lines on to W, and tells Percent (when
// set) the percent of each dlstatus and pmstatus line. Close writes out an
// unfinished last line.
type StatusFilter struct {
	W       io.Writer
	Percent func(percent float64)
	part    []byte
}

func (s *StatusFilter) Write(p []byte) (int, error) {
	s.part = append(s.part, p...)
	for {
		i := bytes.IndexByte(s.part, '\n')
		if i < 0 {
			return len(p), nil
		}
		if err := s.line(s.part[:i+1]); err != nil {
			return len(p), err
		}
		s.part = s.part[i+1:]
	}
}

// Close writes out what is left of the last line.
func (s *StatusFilter) Close() error {
	if len(s.part) == 0 {
		return nil
	}
	err := s.line(s.part)
	s.part = nil
	return err
}

func (s *StatusFilter) line(l []byte) error {
	percent, ok, status := ParseAptStatus(string(l))
	if ok && s.Percent != nil {
		s.Percent(percent)
	}
	if status {
		return nil
	}
	_, err := s.W.Write(l)
	return err
}
