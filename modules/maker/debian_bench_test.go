package maker

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/mode-build/mode/modules"
	"github.com/mode-build/mode/modules/debian"
	"github.com/mode-build/mode/mount"
	"github.com/mode-build/mode/squashfs"
)

// BenchmarkDebian measures mode on examples/debian against a plain shell
// pipeline doing the same work (examples/debian/pipeline.sh), on the same
// machine, mirror and apt cache. It reports:
//
//	cold-ratio   mode's cold build of base→essential→console / the pipeline's (target ≤ 1.10)
//	warm-s       a rebuild with nothing changed (target < 1 s)
//	console-s    a rebuild after editing console only (only console is made)
//	size-ratio   the three layers' total size / one squashfs of the final tree (target ≤ 1.05)
//
// It needs root and the Debian archive; run it after `make test` has warmed
// the shared apt cache, so that neither side downloads.
func BenchmarkDebian(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Fatal("BenchmarkDebian needs root: loop devices, overlayfs, chroot, mmdebstrap")
	}
	ctx := context.Background()
	cache, err := aptCache()
	if err != nil {
		b.Fatal(err)
	}
	sources := hostBookworm(b)
	srcFile := filepath.Join(b.TempDir(), "host.sources")
	if err := os.WriteFile(srcFile, debian.Deb822(sources), 0o644); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		// The shell pipeline.
		shellOut := b.TempDir()
		var log bytes.Buffer
		cmd := exec.CommandContext(ctx, filepath.Join("..", "..", "examples", "debian", "pipeline.sh"), shellOut, cache, srcFile)
		cmd.Stdout, cmd.Stderr = &log, &log
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("pipeline.sh: %v\n%s", err, tail(log.String(), 30))
		}
		shell := time.Since(start)

		// mode, cold: a fresh output directory.
		out := b.TempDir()
		h, err := modules.Load(filepath.Join("..", "..", "examples", "debian"))
		if err != nil {
			b.Fatal(err)
		}
		build := func(h *modules.Hierarchy) ([]modules.Result, time.Duration) {
			log.Reset()
			bl := &modules.Builder{Hierarchy: h, Out: out, Maker: &Maker{Scratch: b.TempDir(), Stdout: &log, Stderr: &log}}
			start := time.Now()
			rs, err := bl.Build(ctx, "console")
			if err != nil {
				b.Fatalf("build: %v\n%s", err, tail(log.String(), 30))
			}
			return rs, time.Since(start)
		}
		rs, cold := build(h)
		_, warm := build(h)

		// Edit console only, in a copy of the hierarchy.
		step := "\n  - echo edited at " + time.Now().Format(time.RFC3339Nano) + " > /etc/bench-edit\n"
		dir := editedConsole(b, "\nexclude:", step+"exclude:")
		edited, err := modules.Load(dir)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(edited.Modules["console"].Run); n != 2 {
			b.Fatalf("edited console has %d run steps, want 2", n)
		}
		ers, consoleOnly := build(edited)
		for _, r := range ers {
			if r.Module.Name != "console" && !r.Cached {
				b.Errorf("editing console rebuilt %s", r.Module.Name)
			}
		}

		// The layers against one squashfs of the final tree.
		var files []string
		var total int64
		for _, r := range rs {
			files = append(files, r.Path)
			total += r.Meta.Size
		}
		whole := filepath.Join(b.TempDir(), "whole.sqfs")
		ws, err := mount.OpenWorkspace(files, b.TempDir(), "ws-")
		if err != nil {
			b.Fatal(err)
		}
		err = squashfs.Squash(ctx, ws.Lower, whole, "")
		if cerr := ws.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
		fi, err := os.Stat(whole)
		if err != nil {
			b.Fatal(err)
		}
		ratio := cold.Seconds() / shell.Seconds()
		sizeRatio := float64(total) / float64(fi.Size())
		b.ReportMetric(shell.Seconds(), "shell-s")
		b.ReportMetric(cold.Seconds(), "cold-s")
		b.ReportMetric(ratio, "cold-ratio")
		b.ReportMetric(warm.Seconds(), "warm-s")
		b.ReportMetric(consoleOnly.Seconds(), "console-s")
		b.ReportMetric(sizeRatio, "size-ratio")
		fmt.Printf("debian bench: cold mode %.1fs vs shell pipeline %.1fs = %.2f (target <= 1.10); warm %.3fs (target < 1s); "+
			"console edited %.1fs; layers %d B vs one squashfs %d B = %.3f (target <= 1.05)\n",
			cold.Seconds(), shell.Seconds(), ratio, warm.Seconds(), consoleOnly.Seconds(), total, fi.Size(), sizeRatio)
	}
}
