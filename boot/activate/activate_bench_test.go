package activate

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mode-build/mode/layers"
)

// BenchmarkActivate activates and deactivates modules of growing size
// (files of 64 KiB, half random) in a faked booted system, and reports the
// time of each and how much the upper directory (the tmpfs, RAM) grew:
// what a module costs in RAM when activated, against its size.
func BenchmarkActivate(b *testing.B) {
	for _, mib := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("%dMiB", mib), func(b *testing.B) {
			s := newSystem(b)
			file := s.module(fmt.Sprintf("m%d", mib), func(d string) {
				buf := make([]byte, 64<<10)
				for i := 0; i < mib*16; i++ {
					rand.Read(buf[:32<<10])
					mkfile(b, d, fmt.Sprintf("usr/lib/m/f%04d", i), string(buf))
				}
				mkfile(b, d, "etc/m.conf", "m\n")
			})
			fi, _ := os.Stat(file)
			ctx := context.Background()
			var act, deact time.Duration
			var grew int64
			for i := 0; i < b.N; i++ {
				before := usage(layers.ChangesDir(s.run))
				t0 := time.Now()
				if _, err := Activate(ctx, file, s.opts()); err != nil {
					b.Fatal(err)
				}
				act += time.Since(t0)
				grew += usage(layers.ChangesDir(s.run)) - before
				t0 = time.Now()
				if _, err := Deactivate(ctx, fmt.Sprintf("m%d", mib), s.opts()); err != nil {
					b.Fatal(err)
				}
				deact += time.Since(t0)
			}
			n := float64(b.N)
			b.ReportMetric(float64(fi.Size())/(1<<20), "layer-MiB")
			b.ReportMetric(act.Seconds()/n, "activate-s")
			b.ReportMetric(deact.Seconds()/n, "deactivate-s")
			b.ReportMetric(float64(grew)/n/1024, "upper-KiB")
		})
	}
}

// usage is the disk space of the files and directories under dir (du).
func usage(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			n += fi.Sys().(*syscall.Stat_t).Blocks * 512
		}
		return nil
	})
	return n
}
