package media_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/media"
	"github.com/mode-build/mode/boot/netboot"
	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// BenchmarkMedia writes examples/tiny as each medium (time and size against
// the sum of the layers: the medium's overhead) and boots the ISO (CD,
// BIOS), the disk (BIOS) and netboot from a server (iPXE, HTTP) to
// MODE-TINY-OK in the same run: boot times as ratios to netboot's.
func BenchmarkMedia(b *testing.B) {
	testutil.RequiresRoot(b)
	testutil.RequiresQEMU(b)
	storeDir := filepath.Join(b.TempDir(), "store")
	testutil.BuildTiny(b, filepath.Join(b.TempDir(), "out"), storeDir)
	s, err := store.Open(storeDir)
	if err != nil {
		b.Fatal(err)
	}
	im, err := media.FromStore(s, "extra")
	if err != nil {
		b.Fatal(err)
	}
	im.Kernel, im.Initrd = testutil.Kernel(b).Vmlinuz, testutil.Initramfs(b)
	layers := float64(im.LayersSize())
	b.ReportMetric(layers/(1<<20), "MiB-layers")
	files := map[string]string{}
	for _, f := range media.Formats {
		file := filepath.Join(b.TempDir(), "tiny."+f)
		start := time.Now()
		if err := media.Write(context.Background(), f, im, file); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s-write-"+f)
		fi, err := os.Stat(file)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(fi.Size())/(1<<20), "MiB-"+f)
		files[f] = file
	}
	fixed := func(p string) *netboot.File {
		return netboot.Lazy(func(context.Context) (string, error) { return p, nil })
	}
	nb := netboot.Handler(netboot.Config{Kernel: fixed(im.Kernel), Initrd: fixed(im.Initrd), Chain: "extra", Repo: "tiny"})
	srv := httptest.NewServer(serve.New(s, serve.WithHandler("/boot/", nb)).Handler())
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	secs := map[string]float64{}
	for _, tc := range []struct {
		name string
		m    qemu.Machine
	}{
		{"netboot", qemu.Machine{BootURL: "http://10.0.2.2:" + u.Port() + "/boot/boot.ipxe"}},
		{"iso", qemu.Machine{Medium: &qemu.Medium{File: files["iso"], As: "cdrom"}}},
		{"disk", qemu.Machine{Medium: &qemu.Medium{File: files["disk"], As: "disk"}}},
	} {
		tc.m.MemoryMiB = 512
		res, err := qemu.Run(context.Background(), tc.m, qemu.Watch{
			Expect: "MODE-TINY-OK", Fail: []string{"MODE-TINY-FAIL", "mode-init: FAILED"}, Timeout: 4 * time.Minute,
		})
		if err != nil {
			b.Fatal(err)
		}
		secs[tc.name] = res.Elapsed.Seconds()
		b.ReportMetric(secs[tc.name], "s-boot-"+tc.name)
	}
	b.ReportMetric(secs["iso"]/secs["netboot"], "ratio-iso/netboot")
	b.ReportMetric(secs["disk"]/secs["netboot"], "ratio-disk/netboot")
}
