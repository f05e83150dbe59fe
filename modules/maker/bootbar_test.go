package maker

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mode-build/mode/modules"
)

// fakeMmdebstrap stands in for mmdebstrap: like it, it draws bars only when
// its stderr is a terminal, and it makes a root with one file in its
// target (the argument before the sources file).
const fakeMmdebstrap = `#!/bin/sh
eval "target=\${$(($# - 1))}"
mkdir -p "$target/etc" && echo fake >"$target/etc/fake"
echo "I: plain words" >&2
if [ -t 2 ]; then
	printf '\033[2K            0.00 [>      ]\r' >&2
	printf '\033[2Kdownloading:  50.00 [==>    ]\r\033[2Kdone\n' >&2
	printf '\033[2Kextracting: 100.00 [======>]\r\033[2Kdone\n' >&2
fi
`

// TestBootstrapBars builds a base with a bootstrap through a stand-in
// mmdebstrap: with Fraction set, its bars become phases "bootstrap STAGE"
// with their percent, and its words still reach Stderr; without it, there
// is one "bootstrap" phase and no bar.
func TestBootstrapBars(t *testing.T) {
	requireRoot(t)
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "mmdebstrap"), []byte(fakeMmdebstrap), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	// A cache of its own: the stand-in fills no lists.
	t.Setenv("MODE_CACHE", t.TempDir())
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "base.yaml"), []byte("name: base\nbootstrap:\n  suite: bookworm\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bars := range []bool{true, false} {
		h, err := modules.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var phases, fractions []string
		var words lockedBuilder
		mk := &Maker{Scratch: t.TempDir(), Stderr: &words,
			Progress: func(_, p string) { mu.Lock(); phases = append(phases, p); mu.Unlock() }}
		if bars {
			mk.Fraction = func(_, p string, done, total int) {
				mu.Lock()
				defer mu.Unlock()
				if p != "squash" {
					fractions = append(fractions, p+" "+strconv.Itoa(done)+"/"+strconv.Itoa(total))
				}
			}
		}
		b := &modules.Builder{Hierarchy: h, Out: t.TempDir(), Maker: mk}
		if _, err := b.Build(context.Background()); err != nil {
			t.Fatal(err)
		}
		want := []string{"bootstrap", "squash"}
		wantFractions := []string(nil)
		if bars {
			want = []string{"bootstrap", "bootstrap downloading", "bootstrap extracting", "squash"}
			wantFractions = []string{"bootstrap 0/100", "bootstrap downloading 50/100", "bootstrap extracting 100/100"}
		}
		if !slices.Equal(phases, want) || !slices.Equal(fractions, wantFractions) {
			t.Errorf("bars %v: phases %q, fractions %q; want %q, %q", bars, phases, fractions, want, wantFractions)
		}
		// mode's note of the lists the bootstrap used, then mmdebstrap's
		// words with no bar.
		note, rest, _ := strings.Cut(words.String(), "\n")
		if !strings.HasPrefix(note, "bootstrap: lists/boot-") || rest != "I: plain words\n" {
			t.Errorf("bars %v: stderr %q, want the lists' note, then mmdebstrap's words alone", bars, words.String())
		}
	}
}

// lockedBuilder is a strings.Builder safe for the tool's two writers.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
