package remote_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/mode-build/mode/registry/remote"

	"github.com/mode-build/mode/internal/registrytest"
)

// modeServe starts `mode serve` (bin/mode, built by make build) on the store
// dir as a process of its own, and returns host:port.
func modeServe(b testing.TB, dir string) string {
	b.Helper()
	addr, _ := registrytest.ModeServe(b, "../..", dir)
	return addr
}

// pullRound pulls ref with n concurrent clients and returns the throughput in MB/s.
func pullRound(b *testing.B, ref string, n int, bytes int64) float64 {
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	dirs := make([]string, n)
	for i := range dirs {
		dirs[i] = b.TempDir()
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := remote.Pull(ctx, ref, dirs[i]); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	for _, d := range dirs {
		os.RemoveAll(d)
	}
	return float64(n) * float64(bytes) / secs / 1e6
}

// benchChain stores the benchmarks' chain (three layers of 24 MiB, random
// bytes) and pushes it to a distribution registry: the store's directory,
// the layers' total size and the registry's address (repository
// bench/chain, tag top).
func benchChain(b *testing.B) (dir string, total int64, reg string) {
	ctx := context.Background()
	src, _ := registrytest.Store(b, []string{"base", "mid", "top"}, 24<<20)
	_, m, _, err := src.Chain(registrytest.Repo, "top")
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range m.Layers {
		total += l.Size
	}
	reg = registrytest.Distribution(b)
	if _, err := remote.Push(ctx, registrytest.Source(b, src, "top"), reg+"/bench/chain"); err != nil {
		b.Fatal(err)
	}
	return src.Dir(), total, reg
}

// BenchmarkPull compares the pull throughput of a chain from `mode serve`
// with the CNCF distribution registry serving the same blobs, with 1 and 16
// concurrent clients on loopback. It reports both throughputs and their
// ratio (mode/distribution; the target is ≥ 1).
func BenchmarkPull(b *testing.B) {
	srcDir, total, reg := benchChain(b)
	refs := map[string]string{
		"mode":         modeServe(b, srcDir) + "/" + registrytest.Repo + ":top",
		"distribution": reg + "/bench/chain:top",
	}
	for _, clients := range []int{1, 16} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			rates := map[string][]float64{}
			cpu := map[string]time.Duration{} // each server's (bench_serve_test.go)
			var bytes float64
			for i := 0; i < b.N; i++ {
				for round := 0; round < 5; round++ { // alternate to share the noise
					for _, who := range []string{"mode", "distribution"} {
						before, self := childCPU(b, serverComm[who]), selfCPU(b)
						rates[who] = append(rates[who], pullRound(b, refs[who], clients, total))
						cpu[who] += childCPU(b, serverComm[who]) - before
						cpu[who+"-client"] += selfCPU(b) - self
					}
					bytes += float64(clients) * float64(total)
				}
			}
			reportServers(b, rates, cpu, bytes)
		})
	}
}

// BenchmarkPushUnchanged pushes a chain twice to the distribution registry
// and reports the bytes the second push sent (only the manifest: no layer).
func BenchmarkPushUnchanged(b *testing.B) {
	ctx := context.Background()
	src, _ := registrytest.Store(b, []string{"base", "top"}, 8<<20)
	reg := registrytest.Distribution(b)
	for i := 0; i < b.N; i++ {
		repo := fmt.Sprintf("%s/bench/push%d", reg, i)
		first := &byteCounter{}
		if _, err := remote.Push(ctx, registrytest.Source(b, src, "top"), repo, remote.WithTransport(first)); err != nil {
			b.Fatal(err)
		}
		second := &byteCounter{}
		if _, err := remote.Push(ctx, registrytest.Source(b, src, "top"), repo, remote.WithTransport(second)); err != nil {
			b.Fatal(err)
		}
		_, _, md, err := src.Chain(registrytest.Repo, "top")
		if err != nil {
			b.Fatal(err)
		}
		manifest, err := src.ReadBlob(md)
		if err != nil {
			b.Fatal(err)
		}
		blobBytes := second.uploaded() - int64(len(manifest))
		b.ReportMetric(float64(first.uploaded()), "first-push-bytes")
		b.ReportMetric(float64(blobBytes), "second-push-blob-bytes")
		if blobBytes != 0 {
			b.Errorf("second push of an unchanged chain sent %d bytes besides its %d-byte manifest", blobBytes, len(manifest))
		}
	}
}

func median(xs []float64) float64 {
	sort.Float64s(xs)
	return xs[len(xs)/2]
}
