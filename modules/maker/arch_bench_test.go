package maker

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/modules"
)

// archRounds is how many times BenchmarkTinyArm64 builds each architecture, alternating.
const archRounds = 3

// BenchmarkTinyArm64 builds examples/tiny cold for amd64 and for arm64 on
// this (amd64) host, alternating, and reports the ratio of their times:
// emulation's cost. base-s and steps-s split it: arm64's base unpacks
// busybox-static of arm64 from the Debian archive (mmdebstrap's extract
// variant, its package lists fetched each time), amd64's copies the host's
// files; the steps (essential's and console's run steps, extra's files) run
// under QEMU user emulation for arm64.
func BenchmarkTinyArm64(b *testing.B) {
	testutil.RequiresRoot(b)
	testutil.RequiresQEMUUser(b)
	scratch := b.TempDir()
	total := map[string]time.Duration{}
	base := map[string]time.Duration{}
	for i := 0; i < b.N; i++ {
		for r := 0; r < archRounds; r++ {
			for _, arch := range []string{"amd64", "arm64"} {
				h, err := modules.Load(tinyDir)
				if err != nil {
					b.Fatal(err)
				}
				out := filepath.Join(b.TempDir(), "out")
				bl := &modules.Builder{Hierarchy: h, Out: out, Arch: arch, Maker: &Maker{Scratch: scratch, Arch: arch}}
				start := time.Now()
				res, err := bl.Build(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				total[arch] += time.Since(start)
				for _, r := range res {
					if r.Module.Name == "base" {
						base[arch] += r.Duration
					}
				}
			}
		}
	}
	n := float64(b.N * archRounds)
	for _, arch := range []string{"amd64", "arm64"} {
		b.ReportMetric(total[arch].Seconds()/n, arch+"-s")
		b.ReportMetric(base[arch].Seconds()/n, arch+"-base-s")
		b.ReportMetric((total[arch]-base[arch]).Seconds()/n, arch+"-steps-s")
	}
	b.ReportMetric(float64(total["arm64"])/float64(total["amd64"]), "arm64/amd64")
	b.ReportMetric(float64(total["arm64"]-base["arm64"])/float64(total["amd64"]-base["amd64"]), "steps-arm64/amd64")
}
