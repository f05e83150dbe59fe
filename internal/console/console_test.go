package console

import (
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEscape: Ctrl-a x leaves (what came before it still goes to the
// guest), Ctrl-a Ctrl-a types one Ctrl-a, Ctrl-a before another key passes,
// also when the two come in different reads.
func TestEscape(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reads []string
		want  string
		left  bool
	}{
		{"plain", []string{"ls\r", "\x03"}, "ls\r\x03", false},
		{"leave", []string{"echo hi\r\x01x", "more"}, "echo hi\r", true},
		{"leave across reads", []string{"a\x01", "xb"}, "a", true},
		{"ctrl-a twice", []string{"\x01\x01x"}, "\x01x", false},
		{"ctrl-a then a key", []string{"\x01", "c\x01"}, "\x01c", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			left := false
			e := &escapeReader{r: &chunks{reads: tc.reads}, leave: func() { left = true }}
			got, err := io.ReadAll(e)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("to the guest (-want +got):\n%s", diff)
			}
			if left != tc.left {
				t.Errorf("left = %v, want %v", left, tc.left)
			}
		})
	}
}

// chunks returns one string per Read, then io.EOF.
type chunks struct{ reads []string }

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.reads) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.reads[0])
	if c.reads[0] = c.reads[0][n:]; c.reads[0] == "" {
		c.reads = c.reads[1:]
	}
	return n, nil
}
