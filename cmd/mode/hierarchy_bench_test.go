package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/testutil"
)

// hierarchyModules is the size of BenchmarkHierarchy's hierarchy: a base
// and hierarchyModules-1 modules.
const hierarchyModules = 20

// writeHierarchy writes a tiny-like hierarchy of hierarchyModules modules
// into dir: examples/tiny's base (a committed tree and the host's busybox)
// and modules m01…m19 in a binary tree (mI's parent is m(I-1)/2, m00 being
// the base), each with a file, a run step that adds and a run step that
// deletes a file of its parent.
func writeHierarchy(tb testing.TB, dir string) {
	tb.Helper()
	tiny := filepath.Join("..", "..", "examples", "tiny")
	if out, err := exec.Command("cp", "-a", filepath.Join(tiny, "rootfs"), filepath.Join(tiny, "base.yaml"), dir).CombinedOutput(); err != nil {
		tb.Fatalf("cp: %v: %s", err, out)
	}
	if err := os.Mkdir(filepath.Join(dir, "files"), 0o755); err != nil {
		tb.Fatal(err)
	}
	name := func(i int) string {
		if i == 0 {
			return "base"
		}
		return fmt.Sprintf("m%02d", i)
	}
	for i := 1; i < hierarchyModules; i++ {
		n, parent := name(i), name((i-1)/2)
		if err := os.WriteFile(filepath.Join(dir, "files", n+".conf"), []byte(strings.Repeat(n+"\n", 100)), 0o644); err != nil {
			tb.Fatal(err)
		}
		del := "true"
		if parent != "base" {
			del = "rm /etc/" + parent + ".conf"
		}
		def := fmt.Sprintf("name: %s\nparent: %s\nfiles:\n  - {src: files/%s.conf, dst: /etc/%s.conf, mode: \"0644\"}\n"+
			"run:\n  - mkdir -p /opt/%s && seq 1 2000 > /opt/%s/data\n  - %s\n", n, parent, n, n, n, n, del)
		if err := os.WriteFile(filepath.Join(dir, n+".yaml"), []byte(def), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkHierarchy builds a hierarchy of 20 tiny-like modules
// (writeHierarchy) with `mode build` as a process, alternating in each
// round: a cold pipelined build (the default --jobs), a cold build one
// module after the other (--jobs 0), a warm no-op build, and `mode tree`.
// It reports the medians over the rounds, and piped/seq, the median of the
// rounds' ratios. Needs root.
func BenchmarkHierarchy(b *testing.B) {
	testutil.RequiresRoot(b)
	dir := b.TempDir()
	writeHierarchy(b, dir)
	run := func(args ...string) time.Duration {
		cmd := modeCmd(args...)
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("mode %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return time.Since(start)
	}
	const rounds = 3
	var piped, seq, warm, tree, ratio []float64
	for i := 0; i < b.N*rounds; i++ {
		scratch := b.TempDir()
		out1, out2 := b.TempDir(), b.TempDir()
		p := run("build", "--dir", dir, "--out", out1, "--scratch", scratch, "--no-store").Seconds()
		s := run("build", "--dir", dir, "--out", out2, "--scratch", scratch, "--no-store", "--jobs", "0").Seconds()
		w := run("build", "--dir", dir, "--out", out1, "--scratch", scratch, "--no-store").Seconds()
		tr := run("tree", "--dir", dir, "--out", out1).Seconds()
		entries, err := os.ReadDir(out1)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(entries); n < 2*hierarchyModules {
			b.Fatalf("%s holds %d entries, want a layer and its metadata for each of %d modules", out1, n, hierarchyModules)
		}
		piped, seq, warm, tree, ratio = append(piped, p), append(seq, s), append(warm, w), append(tree, tr), append(ratio, p/s)
		fmt.Printf("hierarchy bench round %d: cold pipelined %.2fs, cold sequential %.2fs (%.2f), warm no-op %.3fs, tree %.3fs\n",
			i+1, p, s, p/s, w, tr)
	}
	b.ReportMetric(median(piped), "cold-s")
	b.ReportMetric(median(seq), "cold-seq-s")
	b.ReportMetric(median(ratio), "piped/seq")
	b.ReportMetric(median(warm), "warm-s")
	b.ReportMetric(median(tree), "tree-s")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
