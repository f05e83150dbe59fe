package modeinit

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/layers"
)

// TestLazyWaitRAM: the lazy step of mode.toram waits for lazy.json to say
// the fill is done, fails with its error, and gives up after
// mode.fetch.timeout without progress.
func TestLazyWaitRAM(t *testing.T) {
	old := runDir
	t.Cleanup(func() { runDir = old })
	write := func(st layers.LazyStatus) {
		data, _ := json.Marshal(st)
		if err := os.WriteFile(layers.LazyFile(runDir), data, 0o644); err != nil {
			t.Error(err)
		}
	}
	for _, tc := range []struct {
		name  string
		later layers.LazyStatus // written after the wait began
		want  string            // in the summary, or the error
		fails bool
	}{
		{"done", layers.LazyStatus{Whole: true, Done: true, Fetched: 3 << 20, Size: 3 << 20},
			"every layer whole in RAM and checked", false},
		{"failed", layers.LazyStatus{Done: true, Error: "layer top.sqfs: digest mismatch"},
			"fill into RAM failed: layer top.sqfs: digest mismatch", true},
		{"stalled", layers.LazyStatus{Fetched: 1 << 20, Size: 3 << 20},
			"made no progress for", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runDir = t.TempDir()
			write(layers.LazyStatus{Fetched: 1, Size: 3 << 20})
			b := &boot{p: params{fetchTimeout: 2 * time.Second}}
			done := make(chan struct{})
			go func() {
				defer close(done)
				time.Sleep(200 * time.Millisecond)
				write(tc.later)
			}()
			msg, err := b.lazyWaitRAM(20 * time.Millisecond)
			<-done
			got := msg
			if err != nil {
				got = err.Error()
			}
			if (err != nil) != tc.fails || !strings.Contains(got, tc.want) {
				t.Errorf("lazyWaitRAM: %q (err %v), want %q", got, err, tc.want)
			}
		})
	}
}
