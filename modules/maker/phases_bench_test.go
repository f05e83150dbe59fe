package maker

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/modules"
)

// BenchmarkColdPhases shows where a cold build of examples/debian up to
// console goes (pipelined, the default jobs, package cache warm: a first
// build not counted): each module's phases with their start and length in
// seconds from the build's start, as `mode build` tells them (bootstrap,
// apt, run N/M, squash), the apt phase split at its apt-get runs (update,
// download, dpkg: install --no-download) and the squash's end. It reports
// the seconds of each phase summed over the modules (bootstrap-s,
// apt-download-s, dpkg-s, steps-s, squash-s; they overlap in a pipelined
// build) and the whole (build-s). $MODE_BENCH_ROUNDS rounds (default 1).
func BenchmarkColdPhases(b *testing.B) {
	testutil.RequiresRoot(b)
	h, err := modules.Load(filepath.Join("..", "..", "examples", "debian"))
	if err != nil {
		b.Fatal(err)
	}
	var log bytes.Buffer
	build := func() (*phaseLog, float64) {
		log.Reset()
		pl := &phaseLog{start: time.Now()}
		mk := &Maker{Scratch: b.TempDir(), Stdout: &log, Stderr: &log, Log: slog.New(pl),
			Progress: pl.phase, Fraction: pl.fraction}
		rs, err := (&modules.Builder{Hierarchy: h, Out: b.TempDir(), Jobs: defaultJobs, Maker: mk}).Build(context.Background(), "console")
		if err != nil {
			b.Fatalf("build: %v\n%s", err, tail(log.String(), 30))
		}
		if len(rs) != 3 {
			b.Fatalf("%d layers", len(rs))
		}
		d := time.Since(pl.start).Seconds()
		// The layers (byte-identical across code changes with
		// SOURCE_DATE_EPOCH set in the environment) and which lists
		// the build used.
		for _, r := range rs {
			fmt.Printf("phases layer %s %s\n", r.Module.Name, r.Meta.Digest)
		}
		for _, line := range strings.Split(log.String(), "\n") {
			if strings.HasPrefix(line, "apt: ") || strings.HasPrefix(line, "bootstrap: ") {
				fmt.Println("phases", line)
			}
		}
		return pl, d
	}
	pl, whole := build() // warm-up: the package cache, not counted
	fmt.Printf("phases warm-up (load %s): build %.1fs\n%s", loadAvg(), whole, pl.table(whole))
	sums := map[string][]float64{}
	for i := 0; i < b.N*benchRounds(b, 1); i++ {
		pl, whole := build()
		fmt.Printf("phases round %d (load %s): build %.1fs\n%s", i+1, loadAvg(), whole, pl.table(whole))
		for k, v := range pl.kinds(whole) {
			sums[k] = append(sums[k], v)
		}
		sums["build"] = append(sums["build"], whole)
	}
	for k, v := range sums {
		b.ReportMetric(medianOf(v), k+"-s")
	}
}

// phaseLog stamps a build's phases: Progress's, apt-get's runs (the
// maker's debug log "chroot"), and the squash's end (Fraction's last).
type phaseLog struct {
	start time.Time
	mu    sync.Mutex
	marks []phaseMark
}

type phaseMark struct {
	module, phase string
	at            float64
}

func (p *phaseLog) mark(module, phase string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.marks = append(p.marks, phaseMark{module, phase, time.Since(p.start).Seconds()})
}

func (p *phaseLog) phase(module, phase string) {
	if strings.HasPrefix(phase, "bootstrap ") { // mmdebstrap's own stages: one bootstrap
		phase = "bootstrap"
	}
	p.mu.Lock()
	again := slices.ContainsFunc(p.marks, func(m phaseMark) bool { return m.module == module && m.phase == phase })
	p.mu.Unlock()
	if !again || phase != "bootstrap" {
		p.mark(module, phase)
	}
}

func (p *phaseLog) fraction(module, phase string, done, total int) {
	if phase == "squash" && done == total && total > 0 {
		p.mark(module, "squashed")
	}
}

// The slog.Handler of the maker's log: apt-get's runs become marks.
func (p *phaseLog) Enabled(context.Context, slog.Level) bool { return true }
func (p *phaseLog) WithAttrs([]slog.Attr) slog.Handler       { return p }
func (p *phaseLog) WithGroup(string) slog.Handler            { return p }
func (p *phaseLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "chroot" && r.Message != "ahead" && r.Message != "ahead done" {
		return nil
	}
	var module string
	var argv []string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "module":
			module = a.Value.String()
		case "argv":
			argv, _ = a.Value.Any().([]string)
		}
		return true
	})
	if r.Message != "chroot" { // the download ahead: a span of its own
		phase := r.Message
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "err" && a.Value.Any() != nil {
				phase += fmt.Sprintf(" (%v)", a.Value.Any())
			}
			return true
		})
		p.mark(module+"/ahead", phase)
		return nil
	}
	for _, w := range []struct{ arg, phase string }{{"update", "apt update"}, {"--download-only", "apt download"}, {"--no-download", "dpkg"}, {"purge", "dpkg"}} {
		if slices.Contains(argv, w.arg) {
			p.mark(module, w.phase)
			return nil
		}
	}
	return nil
}

// spans returns each mark with its length: to the module's next mark (the
// squash to its end).
func (p *phaseLog) spans(whole float64) (marks []phaseMark, lengths []float64) {
	p.mu.Lock()
	marks = slices.Clone(p.marks)
	p.mu.Unlock()
	for i, m := range marks {
		end := whole
		for _, n := range marks[i+1:] {
			if n.module == m.module {
				end = n.at
				break
			}
		}
		lengths = append(lengths, end-m.at)
	}
	return marks, lengths
}

// kinds sums the spans by kind: bootstrap, apt-download (update and
// download), dpkg, steps (run N/M), squash.
func (p *phaseLog) kinds(whole float64) map[string]float64 {
	marks, lengths := p.spans(whole)
	sums := map[string]float64{}
	for i, m := range marks {
		switch {
		case m.phase == "bootstrap":
			sums["bootstrap"] += lengths[i]
		case m.phase == "apt update" || m.phase == "apt download":
			sums["apt-download"] += lengths[i]
		case m.phase == "dpkg":
			sums["dpkg"] += lengths[i]
		case strings.HasPrefix(m.phase, "run "):
			sums["steps"] += lengths[i]
		case m.phase == "squash":
			sums["squash"] += lengths[i]
		}
	}
	return sums
}

func (p *phaseLog) table(whole float64) string {
	marks, lengths := p.spans(whole)
	var s strings.Builder
	for i, m := range marks {
		if m.phase == "squashed" || m.phase == "apt" {
			continue // an end, and the apt phase's start (its runs follow)
		}
		fmt.Fprintf(&s, "  %-10s %-13s %6.1fs  %5.1fs\n", m.module, m.phase, m.at, lengths[i])
	}
	return s.String()
}
