package layers

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseCompression(t *testing.T) {
	for _, tt := range []struct {
		in, canon string
		args      []string
	}{
		{"", "zstd:9", []string{"-comp", "zstd", "-Xcompression-level", "9"}},
		{"zstd", "zstd:9", []string{"-comp", "zstd", "-Xcompression-level", "9"}},
		{"zstd:1", "zstd:1", []string{"-comp", "zstd", "-Xcompression-level", "1"}},
		{"zstd:22", "zstd:22", []string{"-comp", "zstd", "-Xcompression-level", "22"}},
		{"gzip", "gzip:9", []string{"-comp", "gzip", "-Xcompression-level", "9"}},
		{"gzip:6", "gzip:6", []string{"-comp", "gzip", "-Xcompression-level", "6"}},
		{"xz", "xz", []string{"-comp", "xz"}},
		{"lz4", "lz4", []string{"-comp", "lz4"}},
		{"lz4:hc", "lz4:hc", []string{"-comp", "lz4", "-Xhc"}},
	} {
		c, err := ParseCompression(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if c.String() != tt.canon {
			t.Errorf("%q: canonical %q, want %q", tt.in, c.String(), tt.canon)
		}
		if diff := cmp.Diff(tt.args, c.Args()); diff != "" {
			t.Errorf("%q: args (-want +got):\n%s", tt.in, diff)
		}
		if again, err := ParseCompression(c.String()); err != nil || again != c {
			t.Errorf("%q: canonical form %q parses to %+v, %v", tt.in, c.String(), again, err)
		}
	}
	for _, tt := range []struct{ in, says string }{
		{"zstd:0", `zstd level "0": want a number 1 to 22`},
		{"zstd:23", `zstd level "23": want a number 1 to 22`},
		{"zstd:", `zstd level "": want a number 1 to 22`},
		{"zstd:nine", `zstd level "nine"`},
		{"gzip:10", `gzip level "10": want a number 1 to 9`},
		{"xz:9", "xz takes no level"},
		{"lz4:9", "only lz4:hc"},
		{"brotli", "want one of zstd, gzip, xz, lz4"},
		{"ZSTD", "want one of"},
	} {
		_, err := ParseCompression(tt.in)
		if err == nil {
			t.Errorf("%q accepted", tt.in)
			continue
		}
		if !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), `"`+tt.in+`"`) {
			t.Errorf("%q: error %q, want it to name the value and say %q", tt.in, err, tt.says)
		}
	}
}
