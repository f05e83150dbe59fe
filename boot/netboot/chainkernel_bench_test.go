package netboot_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/mode-build/mode/boot/initramfs"
	"github.com/mode-build/mode/boot/media"
	"github.com/mode-build/mode/boot/netboot"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/store"
	digest "github.com/opencontainers/go-digest"
	"github.com/u-root/u-root/pkg/cpio"
)

// BenchmarkChainInitramfs: the first use of a chain's kernel on /boot/chain/
// (find the kernel in the layers, extract it, digest it, extract its
// modules, build the zstd initramfs), per kernel: Debian's cloud kernel in a
// layer of its own (as TestChainKernels makes it) and, when make
// test-debian has built it, examples/debian's kernel chain (the generic
// kernel, all its modules in one layer). Against the same work by hand: the
// shell pipeline of unsquashfs for the kernel and its modules directory, cp
// of the files our initramfs carries, find | cpio | zstd at netboot.ZstdLevel
// (the server's level). Also the cached answer (the second request), and
// once the same by hand at zstd -19 (mode initramfs's level): what the
// first use would cost at that level, and its size. Medians of 3 rounds,
// ours and by hand alternating.
func BenchmarkChainInitramfs(b *testing.B) {
	testutil.RequiresRoot(b)
	testutil.RequiresTools(b, "mksquashfs", "unsquashfs", "cpio", "zstd")
	k := testutil.Kernel(b)
	type kern struct {
		name string
		ls   []store.Layer
	}
	var kernels []kern
	// The cloud kernel with all its modules, in a layer over a base.
	dir := b.TempDir()
	root := filepath.Dir(filepath.Dir(k.Vmlinuz))
	cloud := filepath.Join(dir, "cloud.sqfs")
	dep := "lib/modules/" + k.Version + "/modules.dep f 644 0 0 true" // dpkg-deb -x has no depmod's
	if out, err := exec.Command("mksquashfs", root, cloud, "-comp", "zstd", "-quiet", "-noappend", "-no-progress", "-p", dep).CombinedOutput(); err != nil {
		b.Fatalf("mksquashfs: %v: %s", err, out)
	}
	kernels = append(kernels, kern{"cloud", []store.Layer{layer(b, dir, "base", map[string][]byte{"etc/hostname": []byte("b\n")}), {Path: cloud, Meta: layers.Meta{Name: "cloud", File: "cloud.sqfs", Compression: "zstd"}}}})
	if e2e, err := store.Open(filepath.Join(testutil.RepoRoot(b), ".cache", "e2e", "debian", "store")); err == nil {
		if repo, ref, err := e2e.Find("kernel"); err == nil {
			ch, _, _, err := e2e.Chain(repo, ref)
			if err == nil {
				var ls []store.Layer
				for _, m := range ch.Layers {
					ls = append(ls, store.Layer{Path: e2e.BlobPath(digest.Digest(m.Digest)), Meta: m})
				}
				kernels = append(kernels, kern{"debian-generic", ls})
			}
		}
	}
	for _, kn := range kernels {
		b.Run(kn.name, func(b *testing.B) {
			st, err := store.Open(filepath.Join(b.TempDir(), "store"))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := st.AddChainAs(context.Background(), "bench", "k", "k", kn.ls); err != nil {
				b.Fatal(err)
			}
			var mls []media.Layer
			for _, l := range kn.ls {
				mls = append(mls, media.Layer{Path: l.Path, Meta: l.Meta})
			}
			src, err := media.LocateKernel(mls)
			if err != nil || src == nil {
				b.Fatalf("no kernel: %v", err)
			}
			var ours, hand, cached []time.Duration
			var size int64
			var body []byte
			for range b.N * 3 {
				os.RemoveAll(filepath.Join(st.Dir(), netboot.CacheDir))
				nb, err := netboot.New(st, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}, netboot.Options{Advertise: "10.0.0.1:5000"})
				if err != nil {
					b.Fatal(err)
				}
				srv := httptest.NewServer(nb)
				t0 := time.Now()
				body = fetch(b, srv.URL+"/boot/chain/bench/k/initrd.img")
				ours = append(ours, time.Since(t0))
				t0 = time.Now()
				fetch(b, srv.URL+"/boot/chain/bench/k/initrd.img")
				cached = append(cached, time.Since(t0))
				srv.Close()
				nb.Close()
				size = int64(len(body))
				h, _ := byHand(b, src, body, netboot.ZstdLevel)
				hand = append(hand, h)
			}
			hand19, size19 := byHand(b, src, body, 19)
			b.ReportMetric(float64(median(ours).Nanoseconds()), "ns-first-use")
			b.ReportMetric(float64(median(hand).Nanoseconds()), "ns-hand")
			b.ReportMetric(float64(median(ours))/float64(median(hand)), "ratio")
			b.ReportMetric(float64(median(cached).Nanoseconds()), "ns-cached")
			b.ReportMetric(float64(size)/(1<<20), "MiB")
			b.ReportMetric(float64(hand19.Nanoseconds()), "ns-hand-19")
			b.ReportMetric(float64(size19)/(1<<20), "MiB-19")
			b.Logf("%s: Linux %s: first use %v (by hand %v; by hand at zstd -19 %v, %.1f MiB), cached %v, %.1f MiB", kn.name, src.Version,
				median(ours), median(hand), hand19, float64(size19)/(1<<20), median(cached), float64(size)/(1<<20))
		})
	}
}

// byHand does the work of a first use with the shell: the kernel and its
// modules directory out of their layers, the files our initramfs (ours,
// zstd) carries copied into a tree, find | cpio | zstd at level. It returns
// its time and the size of what it made.
func byHand(b *testing.B, src *media.KernelSource, ours []byte, level int) (time.Duration, int64) {
	b.Helper()
	zr, err := zstd.NewReader(bytes.NewReader(ours))
	if err != nil {
		b.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	zr.Close()
	if err != nil {
		b.Fatal(err)
	}
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(raw)))
	if err != nil {
		b.Fatal(err)
	}
	opts, err := initramfs.Defaults()
	if err != nil {
		b.Fatal(err)
	}
	var mods []string
	for _, r := range recs {
		if strings.HasSuffix(r.Name, ".ko") || strings.HasSuffix(r.Name, ".ko.xz") || strings.HasSuffix(r.Name, ".ko.zst") {
			mods = append(mods, strings.TrimPrefix(r.Name, "lib/modules/"+src.Version+"/"))
		}
	}
	tmp := b.TempDir()
	script := `set -e
unsquashfs -f -n -no-xattrs -d "$T/x" "$KL" "boot/vmlinuz-$V" >/dev/null
unsquashfs -f -n -no-xattrs -d "$T/x" "$ML" "$MD" >/dev/null
mkdir -p "$T/r/bin" "$T/r/lib/modules/$V"
cp "$MODE" "$T/r/bin/mode"; ln -s bin/mode "$T/r/init"
[ -z "$BB" ] || cp "$BB" "$T/r/bin/busybox"
cd "$T/x/$MD"
for m in $MODS; do f=$(find kernel -name "$(basename "$m" .ko).ko*" | head -n1); [ -z "$f" ] || { mkdir -p "$T/r/lib/modules/$V/$(dirname "$m")"; cp "$f" "$T/r/lib/modules/$V/$m"; }; done
cd "$T/r"
find . | cpio -o -H newc --quiet | zstd -$LEVEL -T0 -q -o "$T/initrd.img"
`
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), "T="+tmp, "KL="+src.Kernel.Path, "ML="+src.Modules.Path, "MD="+src.ModulesDir, "V="+src.Version,
		"MODE="+opts.Mode, "BB="+opts.Busybox, "MODS="+strings.Join(mods, " "), "LEVEL="+strconv.Itoa(level))
	t0 := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("by hand: %v: %s", err, out)
	}
	d := time.Since(t0)
	fi, err := os.Stat(filepath.Join(tmp, "initrd.img"))
	if err != nil {
		b.Fatal(err)
	}
	return d, fi.Size()
}

func fetch(b *testing.B, u string) []byte {
	b.Helper()
	resp, err := http.Get(u)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		b.Fatalf("%s: %d %s", u, resp.StatusCode, body[:min(len(body), 300)])
	}
	return body
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration{}, ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
