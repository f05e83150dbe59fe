package squashfs

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/testutil"
)

// BenchmarkCompressionLevels squashes real trees at the compressions a
// default could be chosen from, and reports for each the seconds and bytes
// of all trees together. The trees are the Debian console chain's layers
// (base, essential, console) unsquashed, when the e2e test built them
// ($MODE_E2E_OUT or .cache/e2e/debian/out), else the Go tree's src/.
func BenchmarkCompressionLevels(b *testing.B) {
	testutil.RequiresRoot(b)
	trees := debianTrees(b)
	for i := 0; i < b.N; i++ {
		for _, comp := range []string{"zstd:3", "zstd:9", "zstd:15", "zstd:19", "xz", "gzip:9"} {
			var secs float64
			var size int64
			for _, tree := range trees {
				dst := filepath.Join(b.TempDir(), "l.sqfs")
				start := time.Now()
				if err := Squash(context.Background(), tree, dst, comp); err != nil {
					b.Fatal(err)
				}
				secs += time.Since(start).Seconds()
				fi, err := os.Stat(dst)
				if err != nil {
					b.Fatal(err)
				}
				size += fi.Size()
				os.Remove(dst)
			}
			name := strings.ReplaceAll(comp, ":", "")
			b.ReportMetric(secs, "s-"+name)
			b.ReportMetric(float64(size), "bytes-"+name)
		}
	}
}

// debianTrees unsquashes the Debian console chain's layers into temporary
// directories, or returns GOROOT/src when they were not built.
func debianTrees(b *testing.B) []string {
	dir := os.Getenv("MODE_E2E_OUT")
	if dir == "" {
		dir = filepath.Join(testutil.RepoRoot(b), ".cache", "e2e", "debian", "out")
	}
	var trees []string
	for _, l := range []string{"base", "base-essential", "base-essential-console"} {
		img := filepath.Join(dir, l+".sqfs")
		if _, err := os.Stat(img); err != nil {
			b.Logf("no %s: squashing the Go tree's src/ instead", img)
			return []string{filepath.Join(runtime.GOROOT(), "src")}
		}
		tree := filepath.Join(b.TempDir(), l)
		if out, err := exec.Command("unsquashfs", "-q", "-n", "-d", tree, img).CombinedOutput(); err != nil {
			b.Fatalf("unsquashfs %s: %v: %s", img, err, out)
		}
		trees = append(trees, tree)
	}
	return trees
}
