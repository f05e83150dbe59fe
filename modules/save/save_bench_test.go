package save

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/layers"
)

// BenchmarkSave saves a live system's changes (about 48 MiB of new files,
// 100 copy-ups, 50 deletions) with SaveChanges, against mksquashfs run by
// hand on the same upper directory (which keeps the overlay xattrs and the
// excluded files: no cleaning), both at mode's default compression
// (layers.DefaultCompression, zstd level 9). It
// reports both times (the last iteration's), the median of the iterations'
// ratios save / by hand, and the peak memory of
// each: the largest mksquashfs resident set (what either way costs) and, for
// save, the Go heap it grew.
func BenchmarkSave(b *testing.B) {
	testutil.RequiresRoot(b)
	trees := twoLayers(b)
	for i := range 100 {
		writeFile(b, fmt.Sprintf("%s/usr/share/bench/old%03d", trees[0], i), string(payload(i, 64<<10)))
	}
	s := boot(b, trees...)
	for i := range 384 {
		writeFile(b, fmt.Sprintf("%s/srv/data/new%03d", s.root, i), string(payload(1000+i, 128<<10)))
	}
	for i := range 100 {
		f, err := os.OpenFile(fmt.Sprintf("%s/usr/share/bench/old%03d", s.root, i), os.O_APPEND|os.O_WRONLY, 0)
		must(b, err)
		_, err = f.WriteString("appended\n")
		must(b, err)
		must(b, f.Close())
	}
	for i := range 50 {
		must(b, os.Remove(fmt.Sprintf("%s/usr/share/bench/old%03d", s.root, 50+i)))
	}
	writeFile(b, s.root+"/var/log/bench.log", string(payload(7, 1<<20)))
	out := b.TempDir()
	var ratios, durable []float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		meta, err := SaveChanges(context.Background(), s.run, Options{Name: "bench", Out: out, Compression: layers.DefaultCompression})
		if err != nil {
			b.Fatal(err)
		}
		saveTime := time.Since(start)
		runtime.ReadMemStats(&after)
		heap := int64(after.HeapSys) - int64(before.HeapSys)
		// The largest child so far: the save's mksquashfs runs before the
		// one by hand (and the fixture's are small).
		var ru syscall.Rusage
		must(b, syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru))
		peak := ru.Maxrss
		// By hand: mksquashfs on the upper as it is.
		hand := filepath.Join(out, "hand.sqfs")
		start = time.Now()
		comp, err := layers.ParseCompression(layers.DefaultCompression)
		must(b, err)
		cmd := exec.Command("mksquashfs", append([]string{layers.ChangesDir(s.run), hand, "-noappend", "-quiet", "-no-progress"}, comp.Args()...)...)
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("mksquashfs: %v: %s", err, msg)
		}
		handTime := time.Since(start)
		// The save's layer is on disk when it returns (fsynced with its
		// verity tree); mksquashfs leaves its image in the page cache:
		// its fsync, for the ratio of the same durable work.
		h, err := os.Open(hand)
		must(b, err)
		must(b, h.Sync())
		must(b, h.Close())
		durableTime := time.Since(start)
		handRSS := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
		handSize, _ := os.Stat(hand)

		b.ReportMetric(saveTime.Seconds(), "save-s")
		b.ReportMetric(handTime.Seconds(), "mksquashfs-s")
		b.ReportMetric(durableTime.Seconds(), "mksquashfs-fsync-s")
		ratios = append(ratios, saveTime.Seconds()/handTime.Seconds())
		durable = append(durable, saveTime.Seconds()/durableTime.Seconds())
		slices.Sort(ratios)
		slices.Sort(durable)
		b.ReportMetric(ratios[len(ratios)/2], "ratio-save/mksquashfs") // the medians so far
		b.ReportMetric(durable[len(durable)/2], "ratio-save/mksquashfs-fsync")
		b.ReportMetric(float64(peak)/1024, "save-peak-rss-MiB")
		b.ReportMetric(float64(handRSS)/1024, "mksquashfs-peak-rss-MiB")
		b.ReportMetric(float64(max(heap, 0))/(1<<20), "save-go-heap-MiB")
		b.Logf("ratio %.2f; upper %s: by hand %.2fs, %d KiB peak RSS, %s; save %.2fs, %d KiB peak mksquashfs RSS, Go heap grew %d KiB, %s (pruned %d, excluded %d)",
			saveTime.Seconds()/handTime.Seconds(), layers.ChangesDir(s.run), handTime.Seconds(), handRSS, mib(handSize.Size()), saveTime.Seconds(), peak, max(heap, 0)>>10,
			mib(meta.Size), meta.Pruned.Files, meta.Excluded.Files)
	}
}

// payload is n bytes, half random, half text: compressible as real files are.
func payload(seed, n int) []byte {
	r := rand.New(rand.NewSource(int64(seed)))
	b := make([]byte, n)
	r.Read(b[:n/2])
	for i := n / 2; i < n; i++ {
		b[i] = "mode saves changes\n"[i%19]
	}
	return b
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
