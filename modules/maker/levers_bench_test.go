package maker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/modules"
)

// lever is one way of making a Debian build: the Maker's settings.
type lever struct {
	name string
	set  func(*Maker)
}

// today is the build before issue 26: fsyncs, dpkg safe, mksquashfs at the
// build's priority, siblings' apt steps one at a time, no download ahead.
func today(mk *Maker) {
	mk.keepFsync, mk.keepDpkgSync, mk.loudSquash, mk.serialApt, mk.noAhead = true, true, true, true, true
}

// benchRounds is the number of counted rounds: $MODE_BENCH_ROUNDS, else def.
func benchRounds(b *testing.B, def int) int {
	if s := os.Getenv("MODE_BENCH_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("MODE_BENCH_ROUNDS=%q: want a count", s)
		}
		return n
	}
	return def
}

// BenchmarkLevers measures issue 26's levers one at a time on a cold build
// of examples/debian up to console (pipelined, the default jobs), package
// cache warm (a first build not counted), SOURCE_DATE_EPOCH set. Each round
// builds, alternating: today (every lever off), each lever alone, all of
// them (mode's default). It reports each one's median seconds and the
// median of its per-round ratio to today's build, and fails when any build's
// layers differ from today's by a byte (the digests):
//
//	today-s, unsafe-io-s, nosync-s, quiet-squash-s, all-s
//	unsafe-io/today    dpkg --force-unsafe-io in the apt steps
//	nosync/today       the seccomp filter (internal/nosync) on the bootstrap and every step
//	quiet-squash/today mksquashfs at nice 10, best-effort I/O 7
//	all/today          all of them
//
// Needs root and the Debian archive. $MODE_BENCH_ROUNDS rounds (default 2).
func BenchmarkLevers(b *testing.B) {
	testutil.RequiresRoot(b)
	b.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	h, err := modules.Load(filepath.Join("..", "..", "examples", "debian"))
	if err != nil {
		b.Fatal(err)
	}
	levers := []lever{
		{"today", today},
		{"unsafe-io", func(mk *Maker) { today(mk); mk.keepDpkgSync = false }},
		{"nosync", func(mk *Maker) { today(mk); mk.keepFsync = false }},
		{"quiet-squash", func(mk *Maker) { today(mk); mk.loudSquash = false }},
		{"all", func(*Maker) {}},
	}
	var log bytes.Buffer
	build := func(l lever) (map[string]string, float64) {
		log.Reset()
		mk := &Maker{Scratch: b.TempDir(), Stdout: &log, Stderr: &log}
		l.set(mk)
		bl := &modules.Builder{Hierarchy: h, Out: b.TempDir(), Jobs: defaultJobs, Maker: mk}
		start := time.Now()
		rs, err := bl.Build(context.Background(), "console")
		if err != nil {
			b.Fatalf("%s build: %v\n%s", l.name, err, tail(log.String(), 30))
		}
		d := time.Since(start).Seconds()
		digests := map[string]string{}
		for _, r := range rs {
			digests[r.Module.Name] = r.Meta.Digest
		}
		return digests, d
	}
	build(levers[len(levers)-1]) // warm-up: the package cache
	secs := map[string][]float64{}
	ratios := map[string][]float64{}
	for i := 0; i < b.N*benchRounds(b, 2); i++ {
		var ref map[string]string
		var base float64
		line := fmt.Sprintf("levers round %d:", i+1)
		for _, l := range levers {
			digests, d := build(l)
			if ref == nil {
				ref, base = digests, d
			}
			for m, dg := range ref {
				if digests[m] != dg {
					b.Errorf("round %d, %s: layer %s is %s, today's %s", i+1, l.name, m, digests[m], dg)
				}
			}
			secs[l.name] = append(secs[l.name], d)
			ratios[l.name] = append(ratios[l.name], d/base)
			line += fmt.Sprintf(" %s %.1fs (%.2f)", l.name, d, d/base)
		}
		fmt.Println(line, "load", loadAvg())
	}
	for _, l := range levers {
		b.ReportMetric(medianOf(secs[l.name]), l.name+"-s")
		if l.name != "today" {
			b.ReportMetric(medianOf(ratios[l.name]), l.name+"/today")
		}
	}
}

// BenchmarkSiblingsApt measures the split apt lock: kernel, lightx and smtp
// (siblings over console, examples/debian) built side by side (the default
// jobs) over the same finished chain, their apt steps one at a time as
// before (serial) and with only update and download under the cache lock
// (split), alternating; every other lever on in both. Package cache warm
// (the chain's build and a first sibling build are not counted). It reports
// serial-s, split-s and split/serial (medians; per-round ratios).
// Needs root and the Debian archive. $MODE_BENCH_ROUNDS rounds (default 2).
func BenchmarkSiblingsApt(b *testing.B) {
	testutil.RequiresRoot(b)
	h, err := modules.Load(filepath.Join("..", "..", "examples", "debian"))
	if err != nil {
		b.Fatal(err)
	}
	var log bytes.Buffer
	chain := b.TempDir()
	if _, err := (&modules.Builder{Hierarchy: h, Out: chain, Jobs: defaultJobs,
		Maker: &Maker{Scratch: b.TempDir(), Stdout: &log, Stderr: &log}}).Build(context.Background(), "console"); err != nil {
		b.Fatalf("chain: %v\n%s", err, tail(log.String(), 30))
	}
	build := func(serial bool) float64 {
		log.Reset()
		out := b.TempDir()
		copyFlat(b, chain, out)
		mk := &Maker{Scratch: b.TempDir(), Stdout: &log, Stderr: &log, serialApt: serial}
		start := time.Now()
		rs, err := (&modules.Builder{Hierarchy: h, Out: out, Jobs: defaultJobs, Maker: mk}).Build(context.Background(), "kernel", "lightx", "smtp")
		if err != nil {
			b.Fatalf("siblings (serial %v): %v\n%s", serial, err, tail(log.String(), 30))
		}
		for _, r := range rs {
			if !r.Cached && (r.Module.Name == "base" || r.Module.Name == "essential" || r.Module.Name == "console") {
				b.Errorf("the chain's %s was made again", r.Module.Name)
			}
		}
		os.RemoveAll(out)
		return time.Since(start).Seconds()
	}
	build(false) // warm-up: the siblings' packages
	var serial, split, ratio []float64
	for i := 0; i < b.N*benchRounds(b, 2); i++ {
		se := build(true)
		sp := build(false)
		serial, split, ratio = append(serial, se), append(split, sp), append(ratio, sp/se)
		fmt.Printf("siblings round %d: serial %.1fs, split %.1fs (%.2f) load %s\n", i+1, se, sp, sp/se, loadAvg())
	}
	b.ReportMetric(medianOf(serial), "serial-s")
	b.ReportMetric(medianOf(split), "split-s")
	b.ReportMetric(medianOf(ratio), "split/serial")
}

// copyFlat copies the regular files of dir src into dst.
func copyFlat(b *testing.B, src, dst string) {
	b.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err == nil {
			_, err = io.Copy(out, in)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
		}
		in.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
}

// loadAvg returns the 1-minute load average of the machine.
func loadAvg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	if f := bytes.Fields(data); len(f) > 0 {
		return string(f[0])
	}
	return "?"
}
