package qemu_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
)

// BenchmarkBoot measures, under TCG, QEMU start → marker for a chain pulled
// from mode's registry server, and for the same root packed as one monolithic
// initramfs (the Tiny Core way), with the ratio, both initramfs sizes and the
// init's time per step. See docs/bench.md.
func BenchmarkBoot(b *testing.B) {
	for _, ex := range []struct {
		name, example, module, top, marker string
		memLayered, memMono                int
	}{
		{"tiny", "tiny", "", "base-essential-console-extra.sqfs", "MODE-TINY-OK", 384, 384},
		{"console", "debian", "console", "base-essential-console.sqfs", "MODE-CONSOLE-READY", 768, 2048},
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
			reg := serveStore(b, store)
			tag := strings.TrimSuffix(ex.top[strings.LastIndex(ex.top, "-")+1:], ".sqfs")
			mono := filepath.Join(b.TempDir(), "mono.img")
			monolithic(b, out, ex.top, mono)
			k, initrd := testutil.Kernel(b), testutil.Initramfs(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				layered := qemu.Machine{Kernel: k.Vmlinuz, Initrd: initrd, MemoryMiB: ex.memLayered, Network: true,
					Append: "mode.ref=" + reg + "/" + ex.example + ":" + tag + " mode.insecure"}
				res := boot(b, layered, ex.marker)
				one := qemu.Machine{Kernel: k.Vmlinuz, Initrd: mono, MemoryMiB: ex.memMono, Append: "rdinit=/sbin/init"}
				monoRes := boot(b, one, ex.marker)
				b.ReportMetric(res.Elapsed.Seconds(), "s-layered")
				b.ReportMetric(monoRes.Elapsed.Seconds(), "s-monolithic")
				b.ReportMetric(res.Elapsed.Seconds()/monoRes.Elapsed.Seconds(), "ratio-layered/mono")
				b.ReportMetric(mib(b, initrd), "MiB-initramfs")
				b.ReportMetric(mib(b, mono), "MiB-monolithic")
				for step, s := range initSteps(res.Console) {
					b.ReportMetric(s, "s-init-"+step)
				}
			}
		})
	}
}

// boot runs m to marker, failing the benchmark otherwise.
func boot(b *testing.B, m qemu.Machine, marker string) *qemu.Result {
	b.Helper()
	res, err := qemu.Run(context.Background(), m, qemu.Watch{
		Expect: marker, Fail: []string{"mode-init: FAILED", "MODE-TINY-FAIL"}, Timeout: 5 * time.Minute,
	})
	if err != nil {
		b.Fatal(err)
	}
	return res
}

func mib(b *testing.B, file string) float64 {
	fi, err := os.Stat(file)
	if err != nil {
		b.Fatal(err)
	}
	return float64(fi.Size()) / (1 << 20)
}

// uptimeLine is the kernel's uptime when the init started (the kernel's
// boot, the initramfs's unpacking included), when its boot steps' process
// started, and at switch_root.
var uptimeLine = regexp.MustCompile(`(?m)^mode-init: (mounted|boot steps|)[^\n]*?uptime ([0-9.]+)s`)

var stepLine = regexp.MustCompile(`(?m)^mode-init: (.*) (?:in|after) ([0-9.]+)s\r?$`)

// initSteps reads the init's step lines off a console: step name → seconds.
// modules and network run in the background, beside the steps after them
// (docs/boot.md): their times overlap the others'.
func initSteps(console string) map[string]float64 {
	names := []struct{ prefix, name string }{
		{"mounted /dev", "mount"}, {"network drivers", "netdrivers"}, {"loaded ", "modules"}, {"no kernel modules", "modules"},
		{"eth", "network"}, {"network off", "network"}, {"pulled ", "fetch"}, {"found ", "fetch"},
		{"copied ", "toram"}, {"mounted ", "overlay"}, {"wrote ", "chain-json"}, {"switching root", "total"},
	}
	steps := map[string]float64{}
	for _, m := range uptimeLine.FindAllStringSubmatch(console, -1) {
		s, _ := strconv.ParseFloat(m[2], 64)
		steps[map[string]string{"mounted": "uptime-init", "boot steps": "uptime-steps", "": "uptime-switch"}[m[1]]] = s
	}
	for _, m := range stepLine.FindAllStringSubmatch(console, -1) {
		for _, n := range names {
			if strings.HasPrefix(m[1], n.prefix) {
				s, _ := strconv.ParseFloat(m[2], 64)
				steps[n.name] = s
				break
			}
		}
	}
	return steps
}
