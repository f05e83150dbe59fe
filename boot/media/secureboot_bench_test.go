package media_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/media"
	"github.com/mode-build/mode/internal/testutil"
)

// BenchmarkMediaSecureBoot writes examples/tiny as an ISO and a disk with
// GRUB for UEFI and with a UKI signed by the snakeoil key instead: what the
// UKI costs in write time and in size (the kernel and the initramfs go on
// the medium a second time, inside the UKI).
func BenchmarkMediaSecureBoot(b *testing.B) {
	testutil.RequiresRoot(b)
	requiresSecureBoot(b)
	im := benchTiny(b)
	sb := snakeoil(b)
	for _, format := range []string{"iso", "disk"} {
		for _, withUKI := range []bool{false, true} {
			im := *im
			name := format
			if withUKI {
				im.SecureBoot, name = sb, format+"-uki"
			}
			file := filepath.Join(b.TempDir(), "tiny."+format)
			var total time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				if err := media.Write(context.Background(), format, &im, file); err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "s-write-"+name)
			fi, err := os.Stat(file)
			if err != nil {
				b.Fatal(err)
			}
			// A disk is sparse: its allocated blocks are what it holds.
			b.ReportMetric(float64(allocated(fi))/(1<<20), "MiB-"+name)
		}
	}
}

// allocated is the bytes fi's file has on disk.
func allocated(fi os.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int64(st.Blocks) * 512
	}
	return fi.Size()
}
