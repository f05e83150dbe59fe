package mount

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// Entry is one line of /proc/self/mountinfo.
type Entry struct {
	Point, FSType, Source string
	Super                 map[string]string // super options: lowerdir, upperdir, workdir…
}

// Table reads /proc/self/mountinfo, in mount order.
func Table() ([]Entry, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	return parseTable(data)
}

func parseTable(data []byte) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := -1
		for i, x := range f {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 5 || len(f) < sep+4 {
			continue
		}
		e := Entry{Point: unescape(f[4]), FSType: f[sep+1], Source: unescape(f[sep+2]), Super: map[string]string{}}
		for _, o := range strings.Split(f[sep+3], ",") {
			k, v, _ := strings.Cut(o, "=")
			e.Super[k] = unescape(v)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// Below returns the mount points of table at dir or below it.
func Below(table []Entry, dir string) []string {
	var out []string
	for _, e := range table {
		if e.Point == dir || strings.HasPrefix(e.Point, dir+"/") {
			out = append(out, e.Point)
		}
	}
	return out
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
