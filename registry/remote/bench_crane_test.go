package remote_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/store"
)

// debianChain is the Debian console chain the e2e test builds (base,
// essential, console: 75 MB of real zstd layers), from $MODE_E2E_OUT or
// .cache/e2e/debian/out, or nil when it was not built.
func debianChain(b testing.TB) []store.Layer {
	dir := os.Getenv("MODE_E2E_OUT")
	if dir == "" {
		dir = filepath.Join(testutil.RepoRoot(b), ".cache", "e2e", "debian", "out")
	}
	var ls []store.Layer
	for _, f := range []string{"base", "base-essential", "base-essential-console"} {
		data, err := os.ReadFile(filepath.Join(dir, f+".json"))
		if err != nil {
			return nil
		}
		var m layers.Meta
		if err := json.Unmarshal(data, &m); err != nil {
			b.Fatalf("%s.json: %v", f, err)
		}
		// A copy: the store would hard-link the e2e test's files.
		cp := filepath.Join(b.TempDir(), f+".sqfs")
		if out, err := exec.Command("cp", filepath.Join(dir, f+".sqfs"), cp).CombinedOutput(); err != nil {
			b.Fatalf("cp: %v: %s", err, out)
		}
		ls = append(ls, store.Layer{Path: cp, Meta: m})
	}
	return ls
}

// BenchmarkPullVsCrane pulls one chain from a `mode serve` on 127.0.0.1
// with `mode pull` (bin/mode, into an empty store; then with --out too)
// and with `crane pull --format=oci` (into an empty OCI layout), the three
// alternating, 7 rounds, and reports the median times and the medians of
// the per-round ratios (mode / crane; the targets are ≤ 1.0 and ≤ 1.1).
// crane leaves its files in the page cache; "crane-sync" is crane followed
// by sync(1) of the same files mode fsyncs (each blob, the blobs directory,
// index.json), for the ratio of the same durable work.
// The chain is the Debian console chain when the e2e test built it, else
// three layers of random bytes (64, 8 and 4 MiB).
func BenchmarkPullVsCrane(b *testing.B) {
	crane := registrytest.Tool(b, "crane")
	bin, err := filepath.Abs(filepath.Join("..", "..", "bin", "mode"))
	if err != nil {
		b.Fatal(err)
	}
	ls := debianChain(b)
	if ls == nil {
		ls = randomChain(b)
	}
	src, err := store.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	name := ls[len(ls)-1].Meta.Name
	if _, err := src.AddChain(context.Background(), registrytest.Repo, name, ls); err != nil {
		b.Fatal(err)
	}
	ref := modeServe(b, src.Dir()) + "/" + registrytest.Repo + ":" + name
	scratch := b.TempDir() // on the file system of the store and the out dir
	run := func(args ...string) time.Duration {
		dir, err := os.MkdirTemp(scratch, "run-")
		if err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
		for i, a := range args {
			args[i] = strings.ReplaceAll(a, "DIR", dir)
		}
		start := time.Now()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			b.Fatalf("%v: %v: %s", args, err, out)
		}
		return time.Since(start)
	}
	sides := map[string]func() time.Duration{
		"crane": func() time.Duration { return run(crane, "pull", "--insecure", "--format=oci", ref, "DIR") },
		"crane-sync": func() time.Duration {
			return run("sh", "-ec", `"$0" pull --insecure --format=oci "$1" DIR && sync DIR/blobs/sha256/* DIR/blobs/sha256 DIR/index.json`, crane, ref)
		},
		"mode": func() time.Duration { return run(bin, "pull", "--insecure", "--store", "DIR", ref) },
		"mode-out": func() time.Duration {
			return run(bin, "pull", "--insecure", "--store", "DIR/store", "--out", "DIR/out", ref)
		},
	}
	order := []string{"crane", "crane-sync", "mode", "mode-out"}
	for i := 0; i < b.N; i++ {
		times := map[string][]float64{}
		var ratio, ratioOut, ratioSync []float64
		for round := 0; round < 7; round++ {
			got := map[string]float64{}
			for k := range order { // rotate who goes first
				who := order[(k+round)%len(order)]
				got[who] = sides[who]().Seconds()
				times[who] = append(times[who], got[who])
			}
			ratio = append(ratio, got["mode"]/got["crane"])
			ratioOut = append(ratioOut, got["mode-out"]/got["crane"])
			ratioSync = append(ratioSync, got["mode"]/got["crane-sync"])
			b.Logf("round %d: crane %.3fs, crane+sync %.3fs, mode %.3fs (%.2f×, %.2f× durable), mode --out %.3fs (%.2f×)", round+1,
				got["crane"], got["crane-sync"], got["mode"], got["mode"]/got["crane"], got["mode"]/got["crane-sync"], got["mode-out"], got["mode-out"]/got["crane"])
		}
		for _, who := range order {
			b.ReportMetric(median(times[who]), "s-"+who)
		}
		b.ReportMetric(median(ratio), "ratio-mode")
		b.ReportMetric(median(ratioOut), "ratio-mode-out")
		b.ReportMetric(median(ratioSync), "ratio-mode/crane-sync")
	}
}

// randomChain is three layers of 64, 8 and 4 MiB of random bytes.
func randomChain(b testing.TB) []store.Layer {
	var ls []store.Layer
	names := []string{"base", "mid", "top"}
	for i, size := range []int{64 << 20, 8 << 20, 4 << 20} {
		l := registrytest.Chain(b, names[:i+1], size)[i]
		ls = append(ls, l)
	}
	return ls
}
