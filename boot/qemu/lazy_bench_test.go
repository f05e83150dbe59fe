package qemu_test

import (
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
)

// BenchmarkLazyBoot measures, under TCG, QEMU start → marker for a chain
// pulled whole and with mode.lazy=on, alternating (three boots each for
// tiny, one for Debian's console), with the bytes of blobs the registry
// served by the marker and, for lazy, the bytes the init fetched before
// switch_root (its own count). See docs/bench.md, "Lazy boot".
func BenchmarkLazyBoot(b *testing.B) {
	for _, ex := range []struct {
		name, example, module, tag, marker string
		mem, reps                          int
	}{
		{"tiny", "tiny", "", "extra", "MODE-TINY-OK", 384, 3},
		{"console", "debian", "console", "console", "MODE-CONSOLE-READY", 768, 1},
	} {
		b.Run(ex.name, func(b *testing.B) {
			testutil.RequiresRoot(b)
			testutil.RequiresQEMU(b)
			dir := filepath.Join(testutil.RepoRoot(b), ".cache", "e2e", ex.example)
			out, store := filepath.Join(dir, "out"), filepath.Join(dir, "store")
			var mods []string
			if ex.module != "" {
				mods = append(mods, ex.module)
			}
			testutil.BuildExample(b, ex.example, out, store, mods...)
			k, initrd := testutil.Kernel(b), testutil.Initramfs(b)
			before := regexp.MustCompile(`lazy: ([0-9.]+) (B|KiB|MiB) of the chain's .* fetched before switch_root`)
			unit := map[string]float64{"B": 1.0 / (1 << 20), "KiB": 1.0 / 1024, "MiB": 1}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var sec, served [2]float64
				var early float64
				reps := float64(ex.reps)
				for r := 0; r < ex.reps; r++ {
					for j, args := range []string{"", " mode.lazy=on"} {
						reg := newLazyRegistry(b, store)
						m := qemu.Machine{Kernel: k.Vmlinuz, Initrd: initrd, MemoryMiB: ex.mem, Network: true,
							Append: "mode.ref=" + reg.addr() + "/" + ex.example + ":" + ex.tag + " mode.insecure" + args}
						res, err := qemu.Run(context.Background(), m, qemu.Watch{
							Expect: ex.marker, Fail: []string{"mode-init: FAILED", "MODE-TINY-FAIL"}, Timeout: 10 * time.Minute,
						})
						if err != nil {
							b.Fatal(err)
						}
						sec[j] += res.Elapsed.Seconds() / reps
						served[j] += float64(reg.sent.Load()) / (1 << 20) / reps
						if j == 1 {
							m := before.FindStringSubmatch(res.Console)
							if m == nil {
								b.Fatal("the lazy boot does not say what it fetched before switch_root")
							}
							v, _ := strconv.ParseFloat(m[1], 64)
							early += v * unit[m[2]] / reps
						}
						reg.srv.Close()
					}
				}
				b.ReportMetric(sec[0], "s-whole")
				b.ReportMetric(sec[1], "s-lazy")
				b.ReportMetric(sec[1]/sec[0], "ratio-lazy/whole")
				b.ReportMetric(served[0], "MiB-served-whole")
				b.ReportMetric(served[1], "MiB-served-lazy")
				b.ReportMetric(early, "MiB-lazy-before-switch_root")
			}
		})
	}
}
