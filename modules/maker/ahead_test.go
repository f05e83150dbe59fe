package maker

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/mode-build/mode/modules"
)

// aheadLog is the maker's log in the Debian builds of the tests: it counts
// the downloads ahead (ahead.go) and fails the test on one that failed
// other than by being cut when the install ended: with examples/debian
// every set resolves, so a failure is a broken download ahead, which a
// build would never show (it is a hint).
type aheadLog struct {
	t   testing.TB
	mu  sync.Mutex
	ran int
}

func (l *aheadLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *aheadLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *aheadLog) WithGroup(string) slog.Handler            { return l }
func (l *aheadLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "ahead done" {
		return nil
	}
	l.mu.Lock()
	l.ran++
	l.mu.Unlock()
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); a.Key == "err" && ok && !errors.Is(err, context.Canceled) {
			l.t.Errorf("a download ahead failed: %v", err)
		}
		return true
	})
	return nil
}

// check logs how many downloads ahead ran (none when another build held the
// apt cache all through the install: not a failure).
func (l *aheadLog) check() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.t.Logf("downloads ahead: %d", l.ran)
}

// TestMakerNext: the sets downloaded ahead during a module's install are
// its children's packages in the plan (a child without packages has none);
// none for another architecture or with the lever off.
func TestMakerNext(t *testing.T) {
	h, err := modules.Load(filepath.Join("..", "..", "examples", "debian"))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := h.Plan()
	if err != nil {
		t.Fatal(err)
	}
	mk := &Maker{}
	if got := mk.next(h.Modules["essential"]); got != nil {
		t.Errorf("before TakePlan: %q", got)
	}
	mk.TakePlan(plan)
	if got, want := mk.next(h.Modules["essential"]), [][]string{h.Modules["console"].Packages}; !reflect.DeepEqual(got, want) {
		t.Errorf("essential: %q, want console's %q", got, want)
	}
	got := mk.next(h.Modules["console"])
	if len(got) != 3 {
		t.Errorf("console: %q, want kernel's, lightx's and smtp's", got)
	}
	if got := mk.next(h.Modules["smtp"]); got != nil {
		t.Errorf("smtp, no children: %q", got)
	}
	mk.noAhead = true
	if got := mk.next(h.Modules["essential"]); got != nil {
		t.Errorf("lever off: %q", got)
	}
	mk.noAhead, mk.Arch = false, map[bool]string{true: "arm64", false: "amd64"}[modules.HostArch() == "amd64"]
	if got := mk.next(h.Modules["essential"]); got != nil {
		t.Errorf("for %s: %q", mk.Arch, got)
	}
}
