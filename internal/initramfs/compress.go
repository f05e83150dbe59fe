package initramfs

import (
	"compress/gzip"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Compressions are the compressors Build knows; the first is the default.
// Debian's kernels decompress all of them.
var Compressions = []string{"zstd", "gzip", "xz", "none"}

// compressor wraps w in the named compressor. Every one is deterministic.
func compressor(name string, w io.Writer) (io.WriteCloser, error) {
	switch name {
	case "", "zstd":
		// One encoder goroutine and a fixed window: the same bytes every time,
		// and a window the kernel's decompressor accepts.
		return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedBetterCompression),
			zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(8<<20))
	case "gzip":
		return gzip.NewWriterLevel(w, gzip.BestCompression)
	case "xz":
		// The kernel's xz decoder checks CRC32 only.
		return xz.WriterConfig{CheckSum: xz.CRC32}.NewWriter(w)
	case "none":
		return nopCloser{w}, nil
	}
	return nil, fmt.Errorf("compression %q: want one of %s", name, strings.Join(Compressions, ", "))
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
