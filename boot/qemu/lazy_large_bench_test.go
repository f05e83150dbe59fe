package qemu_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
)

// bigYAML is the large chain's top module over tiny's extra: 300 MiB of
// random (incompressible) files, of which the benchmark's boot reads two.
const bigYAML = `name: big
parent: extra
run:
  - mkdir -p /big && for i in $(seq 1 30); do head -c 10485760 /dev/urandom > /big/f$i; done
`

// BenchmarkLazyBootLarge measures, under TCG, QEMU start → marker for
// examples/tiny (3.2 MiB) and for tiny plus a 300 MiB layer of random files
// (big), each pulled whole and with mode.lazy=on, one boot each; the
// marker comes once the boot has read two of big's 10 MiB files (none on
// tiny). It reports each time, lazy-large against lazy-tiny (the issue's
// goal: 1.2 at most) and against whole-large, and what the lazy init
// fetched before switch_root. See docs/bench.md, "Lazy boot".
func BenchmarkLazyBootLarge(b *testing.B) {
	testutil.RequiresRoot(b)
	testutil.RequiresQEMU(b)
	examples := b.TempDir()
	if err := os.CopyFS(filepath.Join(examples, "tiny"), os.DirFS(filepath.Join(testutil.RepoRoot(b), "examples", "tiny"))); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(examples, "tiny", "big.yaml"), []byte(bigYAML), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Setenv("MODE_EXAMPLES_DIR", examples)
	store := filepath.Join(b.TempDir(), "store")
	testutil.BuildTiny(b, filepath.Join(b.TempDir(), "out"), store)
	k, initrd := testutil.Kernel(b), testutil.Initramfs(b)
	script := scriptDisk(b, `
if [ -d /big ]; then cat /big/f1 /big/f17 >/dev/null || echo BENCH-READ-FAIL; fi
echo BENCH-READY
`)
	before := regexp.MustCompile(`lazy: ([0-9.]+) (B|KiB|MiB) of the chain's .* fetched before switch_root`)
	unit := map[string]float64{"B": 1.0 / (1 << 20), "KiB": 1.0 / 1024, "MiB": 1}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sec := map[string]float64{}
		for _, tag := range []string{"extra", "big"} {
			for _, lazy := range []string{"", " mode.lazy=on"} {
				reg := newLazyRegistry(b, store)
				m := qemu.Machine{Kernel: k.Vmlinuz, Initrd: initrd, MemoryMiB: 1024, Network: true, Disks: []qemu.Disk{script},
					Append: "mode.ref=" + reg.addr() + "/tiny:" + tag + " mode.insecure tiny.run=/dev/vda" + lazy}
				res, err := qemu.Run(context.Background(), m, qemu.Watch{Expect: "BENCH-READY", Line: true,
					Fail: []string{"mode-init: FAILED", "MODE-TINY-FAIL", "BENCH-READ-FAIL"}, Timeout: 15 * time.Minute})
				if err != nil {
					b.Fatal(err)
				}
				name := map[string]string{"extra": "tiny", "big": "large"}[tag] + map[string]string{"": "-whole", " mode.lazy=on": "-lazy"}[lazy]
				sec[name] = res.Elapsed.Seconds()
				b.ReportMetric(res.Elapsed.Seconds(), "s-"+name)
				b.ReportMetric(float64(reg.sent.Load())/(1<<20), "MiB-served-"+name)
				if lazy != "" {
					m := before.FindStringSubmatch(res.Console)
					if m == nil {
						b.Fatal("the lazy boot does not say what it fetched before switch_root")
					}
					v, _ := strconv.ParseFloat(m[1], 64)
					b.ReportMetric(v*unit[m[2]], "MiB-before-switch_root-"+name)
				}
				reg.srv.Close()
			}
		}
		b.ReportMetric(sec["large-lazy"]/sec["tiny-lazy"], "large-lazy/tiny-lazy")
		b.ReportMetric(sec["large-lazy"]/sec["tiny-whole"], "large-lazy/tiny-whole")
		b.ReportMetric(sec["large-lazy"]/sec["large-whole"], "large-lazy/large-whole")
	}
}
