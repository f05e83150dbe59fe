package debian

import (
	"bytes"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// mmdebstrap draws its own progress bars (apt's and dpkg's status, its own
// extraction count) only when its stderr is a terminal: the Runner gives it
// one (a pseudo-terminal, see pty_linux.go) when asked for progress, and a
// BarFilter reads it back. A bar is "\e[2K" + "STATUS:" padded to 12 columns
// + the percent as %7.2f + " [==>   ]" + "\r"; a finished bar is
// "\e[2Kdone\n". Everything else is mmdebstrap's and its tools' text.

// barLine matches one drawn bar, escapes taken out: its status ("" when
// mmdebstrap gave none) and its percent.
var barLine = regexp.MustCompile(`^([a-z]+:)?\s*(\d{1,3}\.\d\d)(?:\s*\[[=># -]*\]?)?\s*$`)

// csi matches the terminal escape sequences mmdebstrap writes (erase line,
// colours when NO_COLOR is not honoured).
var csi = regexp.MustCompile("\x1b\\[[0-9;?]*[A-Za-z]")

// BarFilter is a writer for mmdebstrap's stderr on a terminal: it tells
// Progress each bar (the stage — "downloading", "extracting", "installing",
// "configuring", or "" — and its percent) and passes every other line on to
// W, without the terminal's escapes and carriage returns. Close writes out an
// unfinished last line.
type BarFilter struct {
	W        io.Writer
	Progress func(stage string, percent float64)
	part     []byte
}

func (b *BarFilter) Write(p []byte) (int, error) {
	b.part = append(b.part, p...)
	for {
		i := bytes.IndexAny(b.part, "\r\n")
		if i < 0 {
			return len(p), nil
		}
		end := b.part[i]
		seg := csi.ReplaceAllString(string(b.part[:i]), "")
		switch {
		case b.bar(seg):
			b.part = b.part[i+1:]
		case end == '\r' && strings.TrimSpace(seg) != "":
			// a line ending "\r\n" (the terminal's newline): wait for
			// the "\n", keeping the text.
			if i+1 == len(b.part) {
				return len(p), nil // the "\n" is not read yet
			}
			if b.part[i+1] == '\n' {
				i++
			}
			fallthrough
		case end == '\n':
			b.part = b.part[i+1:]
			if seg == "done" {
				continue // the end of a bar
			}
			if _, err := io.WriteString(b.W, seg+"\n"); err != nil {
				return len(p), err
			}
		default: // an empty segment before a bar
			b.part = b.part[i+1:]
		}
	}
}

// bar tells Progress about seg when it is a bar.
func (b *BarFilter) bar(seg string) bool {
	m := barLine.FindStringSubmatch(seg)
	if m == nil {
		return false
	}
	pct, err := strconv.ParseFloat(m[2], 64)
	if err != nil || pct > 100 {
		return false
	}
	if b.Progress != nil {
		b.Progress(strings.TrimSuffix(m[1], ":"), pct)
	}
	return true
}

// Close writes out what is left of the last line.
func (b *BarFilter) Close() error {
	seg := strings.TrimSpace(csi.ReplaceAllString(string(b.part), ""))
	b.part = nil
	if seg == "" || seg == "done" || b.bar(seg) {
		return nil
	}
	_, err := io.WriteString(b.W, seg+"\n")
	return err
}
