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

// BenchmarkLazyBoot measures, under TCG, QEMU start → MODE-TINY-OK for
// examples/tiny pulled whole and with mode.lazy=on, alternating, three
// boots each, with the bytes of blobs the registry served by the marker
// and, for lazy, the bytes the init fetched before switch_root (its own
// count). See docs/bench.md, "Lazy boot".
func BenchmarkLazyBoot(b *testing.B) {
	testutil.RequiresRoot(b)
	testutil.RequiresQEMU(b)
	dir := filepath.Join(testutil.RepoRoot(b), ".cache", "e2e", "tiny")
	out, store := filepath.Join(dir, "out"), filepath.Join(dir, "store")
	testutil.BuildExample(b, "tiny", out, store)
	k, initrd := testutil.Kernel(b), testutil.Initramfs(b)
	before := regexp.MustCompile(`lazy: ([0-9.]+) (B|KiB|MiB) of the chain's .* fetched before switch_root`)
	unit := map[string]float64{"B": 1.0 / (1 << 20), "KiB": 1.0 / 1024, "MiB": 1}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var sec, served [2]float64
		var early float64
		const reps = 3
		for r := 0; r < reps; r++ {
			for j, args := range []string{"", " mode.lazy=on"} {
				reg := newLazyRegistry(b, store)
				m := qemu.Machine{Kernel: k.Vmlinuz, Initrd: initrd, MemoryMiB: 384, Network: true,
					Append: "mode.ref=" + reg.addr() + "/tiny:extra mode.insecure" + args}
				res, err := qemu.Run(context.Background(), m, qemu.Watch{
					Expect: "MODE-TINY-OK", Fail: []string{"mode-init: FAILED", "MODE-TINY-FAIL"}, Timeout: 5 * time.Minute,
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
}
