package debian

import (
	"strings"
	"testing"
)

type barEvent struct {
	stage string
	pct   float64
}

// TestBarFilter feeds the filter what mmdebstrap writes to a terminal, in
// pieces cut anywhere: bars become events, text reaches W whole and plain.
func TestBarFilter(t *testing.T) {
	tty := "\x1b[32mI: chroot architecture amd64 is equal to the host's architecture\x1b[0m\r\n" +
		"\x1b[2K            0.00 [                                         ]\r" +
		"\x1b[2Kdownloading: 12.50 [=====>                               ]\r" +
		"\x1b[2Kdownloading:100.00 [#########################################]\r" +
		"\x1b[2Kdone\r\n" +
		"I: extracting archives...\r\n" +
		"\x1b[2Kextracting:  50.00 [===================>                 ]\r" +
		"dpkg: warning: something odd\r\n" +
		"\x1b[2Kinstalling:   7.14 [##   ]\r" +
		"\x1b[2Kconfiguring: 99.99\r" +
		"\x1b[2Kdone\r\n" +
		"E: last words"
	want := []barEvent{{"", 0}, {"downloading", 12.5}, {"downloading", 100}, {"extracting", 50}, {"installing", 7.14}, {"configuring", 99.99}}
	wantText := "I: chroot architecture amd64 is equal to the host's architecture\n" +
		"I: extracting archives...\n" +
		"dpkg: warning: something odd\n" +
		"E: last words\n"
	for _, cut := range []int{1, 2, 3, 7, 64, len(tty)} {
		var got []barEvent
		var text strings.Builder
		f := &BarFilter{W: &text, Progress: func(s string, p float64) { got = append(got, barEvent{s, p}) }}
		for i := 0; i < len(tty); i += cut {
			if _, err := f.Write([]byte(tty[i:min(i+cut, len(tty))])); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if text.String() != wantText {
			t.Errorf("pieces of %d: text\n%q\nwant\n%q", cut, text.String(), wantText)
		}
		if len(got) != len(want) {
			t.Fatalf("pieces of %d: bars %v, want %v", cut, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("pieces of %d: bar %d = %v, want %v", cut, i, got[i], want[i])
			}
		}
	}
}
