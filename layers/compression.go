package layers

import (
	"fmt"
	"strconv"
	"strings"
)

// DefaultCompression is the compression layers are squashed with when none
// is named: zstd at level 9 squashes the Debian console chain's trees about
// 6× faster than mksquashfs's own zstd default (15) for 6 % more bytes
// (docs/bench.md, "Compression levels").
const DefaultCompression = "zstd:9"

// Compression is a squashfs compressor with its level, as written
// NAME[:LEVEL]: "zstd:9", "gzip:6", "xz", "lz4" or "lz4:hc".
type Compression struct {
	Name  string // one of Compressions
	Level int    // zstd 1–22, gzip 1–9; 0 for xz and lz4, which take none
	HC    bool   // lz4's high-compression mode (mksquashfs -Xhc)
}

// levels are the compression levels mksquashfs 4.5 accepts per compressor,
// and the level mode uses when none is named: zstd's is mode's choice
// (DefaultCompression), gzip's is mksquashfs's.
var levels = map[string]struct{ min, max, def int }{
	"zstd": {1, 22, 9},
	"gzip": {1, 9, 9},
}

// ParseCompression parses NAME[:LEVEL]. An empty s is DefaultCompression; a
// name without a level takes the compressor's default level (zstd 9, gzip 9).
func ParseCompression(s string) (Compression, error) {
	if s == "" {
		s = DefaultCompression
	}
	name, level, hasLevel := strings.Cut(s, ":")
	if err := checkName(name); err != nil {
		return Compression{}, fmt.Errorf("compression %q: %w", s, err)
	}
	c := Compression{Name: name}
	lv, ok := levels[name]
	switch {
	case name == "lz4" && hasLevel:
		if level != "hc" {
			return Compression{}, fmt.Errorf("compression %q: lz4 has no levels, only lz4:hc (high compression)", s)
		}
		c.HC = true
	case !ok && hasLevel:
		return Compression{}, fmt.Errorf("compression %q: %s takes no level in mksquashfs (write %s)", s, name, name)
	case ok && !hasLevel:
		c.Level = lv.def
	case ok:
		n, err := strconv.Atoi(level)
		if err != nil || n < lv.min || n > lv.max {
			return Compression{}, fmt.Errorf("compression %q: %s level %q: want a number %d to %d", s, name, level, lv.min, lv.max)
		}
		c.Level = n
	}
	return c, nil
}

// String is c's canonical form: "zstd:9", "gzip:9", "xz", "lz4", "lz4:hc".
// It is what layer metadata records and what salts a module's cache key,
// so that a different level builds a different layer.
func (c Compression) String() string {
	switch {
	case c.Level > 0:
		return c.Name + ":" + strconv.Itoa(c.Level)
	case c.HC:
		return c.Name + ":hc"
	}
	return c.Name
}

// Args are mksquashfs's arguments for c: "-comp NAME" and the level option.
func (c Compression) Args() []string {
	args := []string{"-comp", c.Name}
	switch {
	case c.Level > 0:
		args = append(args, "-Xcompression-level", strconv.Itoa(c.Level))
	case c.HC:
		args = append(args, "-Xhc")
	}
	return args
}

// CanonicalCompression returns the canonical form of s (String of
// ParseCompression): "" and "zstd" are "zstd:9".
func CanonicalCompression(s string) (string, error) {
	c, err := ParseCompression(s)
	if err != nil {
		return "", err
	}
	return c.String(), nil
}

func checkName(name string) error {
	for _, ok := range Compressions {
		if name == ok {
			return nil
		}
	}
	return fmt.Errorf("want one of %s, with a level for zstd (1–22) or gzip (1–9), e.g. %s",
		strings.Join(Compressions, ", "), DefaultCompression)
}
