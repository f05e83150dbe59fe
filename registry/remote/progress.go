package remote

import (
	"sync"

	"github.com/opencontainers/go-digest"
)

// State is where a blob's transfer is.
type State string

// The states of an Event. A blob starts, moves (Moving, many times) and ends
// in one of the final states.
const (
	Started   State = "started"
	Moving    State = "moving"
	Pushed    State = "pushed"     // uploaded
	Exists    State = "exists"     // the registry had it: not uploaded
	Pulled    State = "pulled"     // downloaded and verified
	Present   State = "present"    // the output directory had it
	FromStore State = "from store" // the local store had it: linked out of it (or nothing to do)
	Failed    State = "failed"
)

// Final reports whether s ends a blob's transfer.
func (s State) Final() bool { return s != Started && s != Moving }

// Event is one step of one blob's transfer, as WithProgress reports it.
type Event struct {
	Name   string // the layer's MoDe file name, or "config"
	Digest digest.Digest
	Size   int64 // the blob's size
	Done   int64 // bytes moved so far
	State  State
}

// tracker reports the progress of one blob.
type tracker struct {
	f  func(Event)
	mu sync.Mutex
	ev Event
}

func startTracker(f func(Event), name string, d digest.Digest, size int64) *tracker {
	t := &tracker{f: f, ev: Event{Name: name, Digest: d, Size: size, State: Started}}
	t.emit()
	return t
}

func (t *tracker) emit() {
	if t.f != nil {
		t.f(t.ev)
	}
}

// Write counts len(p) bytes moved (it is an io.Writer for io.MultiWriter).
func (t *tracker) Write(p []byte) (int, error) {
	t.add(int64(len(p)))
	return len(p), nil
}

func (t *tracker) add(n int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ev.Done += n
	t.ev.State = Moving
	t.emit()
}

// set restarts the count at n (a resumed or restarted download).
func (t *tracker) set(n int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ev.Done = n
}

func (t *tracker) done(s State) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ev.State = s
	t.emit()
}

func (t *tracker) moved() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ev.Done
}
