package qemu_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/registry/trust"
	"github.com/mode-build/mode/verity"
)

// BenchmarkVerity measures what signing and dm-verity cost, for tiny and
// Debian's console: the hash tree's build time (against the layer's own
// build time) and size, and QEMU start → marker for the same signed chain
// booted by the default initramfs (no keys: digests only, plain loop mounts)
// and by one that trusts the key (signature checked, every layer through
// dm-verity). See docs/bench.md.
func BenchmarkVerity(b *testing.B) {
	for _, ex := range []struct {
		name, example, top, marker string
		mem                        int
	}{
		{"tiny", "tiny", "base-essential-console-extra", "MODE-TINY-OK", 384},
		{"console", "debian", "base-essential-console", "MODE-CONSOLE-READY", 768},
	} {
		b.Run(ex.name, func(b *testing.B) {
			testutil.RequiresRoot(b)
			testutil.RequiresQEMU(b)
			out := filepath.Join(b.TempDir(), "out")
			if ex.example == "tiny" {
				testutil.BuildTiny(b, out, "")
			} else { // the Debian build make test made, read only
				out = filepath.Join(testutil.RepoRoot(b), ".cache", "e2e", "debian", "out")
			}
			dir := b.TempDir()
			s, err := store.Open(filepath.Join(dir, "store"))
			if err != nil {
				b.Fatal(err)
			}
			var ls []store.Layer
			var data, tree int64
			var treeSecs, buildSecs float64
			for _, f := range chainFiles(ex.top) {
				var m layers.Meta
				raw, err := os.ReadFile(filepath.Join(out, f+".json"))
				if err != nil {
					b.Fatalf("%v (make test-debian builds the console chain)", err)
				}
				if err := json.Unmarshal(raw, &m); err != nil {
					b.Fatal(err)
				}
				size := m.Size
				if m.Verity != nil {
					size = m.Verity.HashOffset // the squashfs data, without its tree
				}
				dst := filepath.Join(dir, f+".sqfs")
				copyPrefix(b, filepath.Join(out, f+".sqfs"), dst, size)
				t0 := time.Now()
				vp, err := verity.Append(dst)
				if err != nil {
					b.Fatal(err)
				}
				treeSecs += time.Since(t0).Seconds()
				buildSecs += m.Seconds
				data += size
				tree += verity.TreeSize(vp.DataBlocks)
				m.Verity, m.Digest, m.Size = vp, "", 0
				ls = append(ls, store.Layer{Path: dst, Meta: m})
			}
			if _, err := s.AddChain(context.Background(), ex.example, ex.top[strings.LastIndex(ex.top, "-")+1:], ls); err != nil {
				b.Fatal(err)
			}
			keys := b.TempDir()
			signer, pub := trustKey(b, keys, "bench")
			if _, _, err := trust.SignStore(s, ex.example+":"+ls[len(ls)-1].Meta.Name, signer, nil); err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(serve.New(s).Handler())
			defer srv.Close()
			u, _ := url.Parse(srv.URL)
			ref := "mode.ref=10.0.2.2:" + u.Port() + "/" + ex.example + ":" + ls[len(ls)-1].Meta.Name + " mode.insecure"
			k, plainInitrd, trustInitrd := testutil.Kernel(b), testutil.Initramfs(b), trustInitramfs(b, pub.Source)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				plain := boot(b, qemu.Machine{Kernel: k.Vmlinuz, Initrd: plainInitrd, MemoryMiB: ex.mem, Network: true, Append: ref}, ex.marker)
				checked := boot(b, qemu.Machine{Kernel: k.Vmlinuz, Initrd: trustInitrd, MemoryMiB: ex.mem, Network: true, Append: ref}, ex.marker)
				if !strings.Contains(checked.Console, "signed by key "+pub.ID) {
					b.Fatalf("the trusting boot did not check the signature:\n%s", checked.Console)
				}
				b.ReportMetric(plain.Elapsed.Seconds(), "s-plain")
				b.ReportMetric(checked.Elapsed.Seconds(), "s-verified")
				b.ReportMetric(checked.Elapsed.Seconds()/plain.Elapsed.Seconds(), "ratio-verified/plain")
				for step, v := range initSteps(checked.Console) {
					b.ReportMetric(v, "s-verified-init-"+step)
				}
				for step, v := range initSteps(plain.Console) {
					b.ReportMetric(v, "s-plain-init-"+step)
				}
			}
			b.ReportMetric(float64(data)/(1<<20), "MiB-data")
			b.ReportMetric(float64(tree)/(1<<20), "MiB-tree")
			b.ReportMetric(100*float64(tree)/float64(data), "pct-tree/data")
			b.ReportMetric(treeSecs, "s-tree")
			b.ReportMetric(buildSecs, "s-build")
			b.ReportMetric(treeSecs/buildSecs, "ratio-tree/build")
		})
	}
}

// chainFiles lists the file stems of the chain top: "a-b-c" → a, a-b, a-b-c.
func chainFiles(top string) []string {
	parts := strings.Split(top, "-")
	var fs []string
	for i := range parts {
		fs = append(fs, strings.Join(parts[:i+1], "-"))
	}
	return fs
}

// copyPrefix copies the first n bytes of src to dst.
func copyPrefix(b *testing.B, src, dst string, n int64) {
	b.Helper()
	in, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	outf, err := os.Create(dst)
	if err != nil {
		b.Fatal(err)
	}
	defer outf.Close()
	if _, err := io.CopyN(outf, in, n); err != nil {
		b.Fatal(err)
	}
}
