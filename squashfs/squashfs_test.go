package squashfs

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mode-build/mode/internal/testutil"
)

// TestParseBar parses mksquashfs's progress bar updates and nothing else.
func TestParseBar(t *testing.T) {
	for _, c := range []struct {
		in          string
		done, total int
		ok          bool
	}{
		{"[=====|     ] 120/200  60%", 120, 200, true},
		{"[==========================================|] 50/50 100%", 50, 50, true},
		{"[|          ]   0/7     0%", 0, 7, true},
		{"  [==\\  ] 3/9  33%  ", 3, 9, true},
		{"", 0, 0, false},
		{"Parallel mksquashfs: Using 2 processors", 0, 0, false},
		{"[==] 3/9", 0, 0, false},
		{"[==] 9/3 300%", 0, 0, false},
		{"[==] a/9 10%", 0, 0, false},
		{"FATAL ERROR: [x] 1/2 50%", 0, 0, false},
	} {
		done, total, ok := parseBar(c.in)
		if done != c.done || total != c.total || ok != c.ok {
			t.Errorf("parseBar(%q) = %d, %d, %v; want %d, %d, %v", c.in, done, total, ok, c.done, c.total, c.ok)
		}
	}
}

// TestBarWriter hands the bar's updates to progress however the writes split
// them, and keeps the rest of the output, without the bar, for errors.
func TestBarWriter(t *testing.T) {
	out := "\r[==|    ] 1/4  25%\r[====|  ] 2/4  50%\rFATAL ERROR: no space\n\r[======|] 4/4 100%\nlast words"
	for _, chunks := range [][]string{
		{out},
		{"\r[==|  ", "  ] 1/4  25%", "\r[====|  ] 2/4", "  50%\rFATAL", " ERROR: no space\n", "\r[======|] 4/4 100%\n", "last", " words"},
		strings.Split(out, ""), // a byte at a time
	} {
		var got []string
		w := &barWriter{progress: func(done, total int) { got = append(got, fmt.Sprintf("%d/%d", done, total)) }}
		for _, c := range chunks {
			if n, err := w.Write([]byte(c)); n != len(c) || err != nil {
				t.Fatalf("Write(%q) = %d, %v", c, n, err)
			}
		}
		w.flush()
		if d := cmp.Diff([]string{"1/4", "2/4", "4/4"}, got); d != "" {
			t.Errorf("%q: progress (-want +got):\n%s", chunks, d)
		}
		if got, want := w.text.String(), "FATAL ERROR: no space\nlast words\n"; got != want {
			t.Errorf("%q: kept output %q, want %q", chunks, got, want)
		}
	}
}

// TestSquashProgress squashes a small tree with mksquashfs's bar on and is
// told its progress up to done == total; the image is whole.
func TestSquashProgress(t *testing.T) {
	testutil.RequiresTools(t, "mksquashfs")
	src := t.TempDir()
	for i := range 20 {
		writeFile(t, filepath.Join(src, "d", fmt.Sprintf("f%d", i)), strings.Repeat(fmt.Sprint(i), 50000))
	}
	img := filepath.Join(t.TempDir(), "x.sqfs")
	var calls [][2]int
	if err := SquashProgress(context.Background(), src, img, "gzip", func(done, total int) {
		calls = append(calls, [2]int{done, total})
	}); err != nil {
		t.Fatal(err)
	}
	if len(calls) == 0 {
		t.Fatal("progress never called")
	}
	// A run too quick for mksquashfs's bar is told 0 of 0.
	if last := calls[len(calls)-1]; last[0] != last[1] {
		t.Errorf("last progress %d/%d, want done == total (calls %v)", last[0], last[1], calls)
	}
	for i, c := range calls {
		if c[0] > c[1] || i > 0 && c[1] == calls[i-1][1] && c[0] < calls[i-1][0] {
			t.Errorf("progress goes back or over: %v", calls)
			break
		}
	}
	entries, err := Inspect(img)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Path)
	}
	if len(got) != 22 || !slices.Contains(got, "/d/f19") {
		t.Errorf("image entries %v, want /, /d and 20 files", got)
	}
}
