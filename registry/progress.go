package registry

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// progress reports per-blob progress to w: on a terminal one status line
// redrawn in place, elsewhere a line per finished blob. A nil w reports nothing.
type progress struct {
	w      io.Writer
	tty    bool
	mu     sync.Mutex
	active map[*blobProgress]bool
	last   time.Time
}

// blobProgress is one blob's share of a progress.
type blobProgress struct {
	p     *progress
	name  string
	size  int64
	n     int64
	start time.Time
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, active: map[*blobProgress]bool{}}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) start(name string, size int64) *blobProgress {
	b := &blobProgress{p: p, name: name, size: size, start: time.Now()}
	if p.w != nil {
		p.mu.Lock()
		p.active[b] = true
		p.mu.Unlock()
	}
	return b
}

// Write counts n bytes (it is an io.Writer for io.MultiWriter).
func (b *blobProgress) Write(q []byte) (int, error) {
	b.add(int64(len(q)))
	return len(q), nil
}

func (b *blobProgress) add(n int64) {
	if b.p.w == nil {
		return
	}
	b.p.mu.Lock()
	b.n += n
	b.p.redraw(false)
	b.p.mu.Unlock()
}

func (b *blobProgress) set(n int64) {
	if b.p.w == nil {
		return
	}
	b.p.mu.Lock()
	b.n = n
	b.p.mu.Unlock()
}

// done ends the blob with a note ("pulled", "exists", …).
func (b *blobProgress) done(note string) {
	p := b.p
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.active, b)
	if p.tty {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	secs := time.Since(b.start).Seconds()
	fmt.Fprintf(p.w, "%-40s %10s  %s (%.1fs)\n", b.name, bytesString(b.size), note, secs)
	p.redraw(true)
}

// redraw rewrites the status line of the active blobs, at most 10 times a second.
func (p *progress) redraw(force bool) {
	if !p.tty || len(p.active) == 0 || (!force && time.Since(p.last) < 100*time.Millisecond) {
		return
	}
	p.last = time.Now()
	var parts []string
	for b := range p.active {
		pct := 100.0
		if b.size > 0 {
			pct = 100 * float64(b.n) / float64(b.size)
		}
		parts = append(parts, fmt.Sprintf("%s %3.0f%%", b.name, pct))
	}
	sort.Strings(parts)
	fmt.Fprintf(p.w, "\r\x1b[K%s", strings.Join(parts, "  "))
}

func (p *progress) close() {
	if p.w != nil && p.tty {
		p.mu.Lock()
		fmt.Fprint(p.w, "\r\x1b[K")
		p.mu.Unlock()
	}
}

// bytesString formats n bytes for people.
func bytesString(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
