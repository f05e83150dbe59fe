package maker

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/modules"
)

// The benchmarks of the module builder on examples/tiny (make bench; root).
// docs/bench.md says what each number means and what this machine measured.

// vsHandRounds is how many times each layer is made by each side in
// BenchmarkTinyVsHand, alternating.
const vsHandRounds = 5

// timedBuild loads the hierarchy at dir and builds it into out, as
// `mode build` does, and returns the whole time and each module's.
func timedBuild(b *testing.B, dir, out, scratch string) (time.Duration, []modules.Result) {
	b.Helper()
	start := time.Now()
	h, err := modules.Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	bl := &modules.Builder{Hierarchy: h, Out: out, Maker: &Maker{Scratch: scratch}}
	res, err := bl.Build(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return time.Since(start), res
}

// BenchmarkTinyCold builds examples/tiny into a fresh output directory each
// iteration: ns/op is a whole build (loading the module files included),
// ns/LAYER each layer's share (as Result.Duration: make, digest, metadata).
func BenchmarkTinyCold(b *testing.B) {
	testutil.RequiresRoot(b)
	scratch := b.TempDir()
	var total time.Duration
	per := map[string]time.Duration{}
	var order []string
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		out := filepath.Join(b.TempDir(), "out")
		b.StartTimer()
		d, res := timedBuild(b, tinyDir, out, scratch)
		total += d
		for _, r := range res {
			if r.Cached {
				b.Fatalf("%s cached in a fresh output directory", r.Module.Name)
			}
			if _, ok := per[r.Module.Name]; !ok {
				order = append(order, r.Module.Name)
			}
			per[r.Module.Name] += r.Duration
		}
	}
	b.StopTimer()
	testutil.NoLeaks(b, scratch)
	n := time.Duration(b.N)
	b.ReportMetric(float64(total/n), "ns/build")
	line := []string{fmt.Sprintf("cold build %s:", ms(total/n))}
	for _, name := range order {
		b.ReportMetric(float64(per[name]/n), "ns/"+name)
		line = append(line, fmt.Sprintf("%s %s", name, ms(per[name]/n)))
	}
	b.Log(strings.Join(line, "  "))
}

// BenchmarkTinyWarm rebuilds an up-to-date examples/tiny: the no-op build,
// loading and keying every module and finding every layer cached.
func BenchmarkTinyWarm(b *testing.B) {
	testutil.RequiresRoot(b)
	scratch := b.TempDir()
	out := filepath.Join(b.TempDir(), "out")
	timedBuild(b, tinyDir, out, scratch)
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		d, res := timedBuild(b, tinyDir, out, scratch)
		total += d
		for _, r := range res {
			if !r.Cached {
				b.Fatalf("%s rebuilt in a no-op build", r.Module.Name)
			}
		}
	}
	b.StopTimer()
	sec := (total / time.Duration(b.N)).Seconds()
	b.ReportMetric(sec, "s/build")
	b.Logf("warm no-op build %s", ms(total/time.Duration(b.N)))
}

// BenchmarkTinyVsHand makes each non-base layer of examples/tiny with the
// Maker and by hand (hand_test.go: mount -o loop, overlay, chroot, cp,
// umount, mksquashfs), alternating, vsHandRounds times each, over the same
// parent layers, and reports per layer the median of the ratios ours/hand
// and both sides' median times.
func BenchmarkTinyVsHand(b *testing.B) {
	testutil.RequiresRoot(b)
	ctx := context.Background()
	scratch := b.TempDir()
	out := filepath.Join(b.TempDir(), "out")
	timedBuild(b, tinyDir, out, scratch)
	h, err := modules.Load(tinyDir)
	if err != nil {
		b.Fatal(err)
	}
	ls, err := tinyLayers(h, out)
	if err != nil {
		b.Fatal(err)
	}
	dsts := b.TempDir()
	mk := &Maker{Scratch: scratch}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, l := range ls {
			var ours, hand, ratios []time.Duration
			for r := 0; r < vsHandRounds; r++ {
				dst := filepath.Join(dsts, fmt.Sprintf("%s-%d", l.m.Name, r))
				start := time.Now()
				if _, err := mk.Make(ctx, l.m, l.parents, dst+".ours"); err != nil {
					b.Fatal(err)
				}
				ours = append(ours, time.Since(start))
				start = time.Now()
				if err := makeByHand(ctx, l.m, l.parents, scratch, dst+".hand"); err != nil {
					b.Fatal(err)
				}
				hand = append(hand, time.Since(start))
				// ratios are kept in thousandths, to sort them as durations.
				ratios = append(ratios, ours[r]*1000/hand[r])
			}
			ratio := float64(median(ratios)) / 1000
			if i == b.N-1 {
				b.ReportMetric(ratio, "ratio-"+l.m.Name)
				b.ReportMetric(float64(median(ours)), "ns-ours-"+l.m.Name)
				b.ReportMetric(float64(median(hand)), "ns-hand-"+l.m.Name)
				b.Logf("%-10s ours %8s  by hand %8s  ours/hand %.2f (median of %d, alternating)",
					l.m.Name, ms(median(ours)), ms(median(hand)), ratio, vsHandRounds)
			}
		}
	}
	b.StopTimer()
	testutil.NoLeaks(b, scratch)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// ms formats d in milliseconds, to one decimal.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}
