package initramfs

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Compressions are the compressors Build knows; the first is the default.
// Debian's kernels decompress all of them.
var Compressions = []string{"zstd", "gzip", "xz", "none"}

// ZstdLevel is the level of the zstd command, when there is one: what the
// kernel's own build compresses its built-in initramfs with. It makes mode's
// initramfs 7.6 MiB where the Go encoder's best makes 8.5 (docs/boot.md);
// the kernel unpacks either as fast.
const ZstdLevel = 19

func checkCompression(name string) error {
	if name == "" || slices.Contains(Compressions, name) {
		return nil
	}
	return fmt.Errorf("compression %q: want one of %s", name, strings.Join(Compressions, ", "))
}

// compressor wraps w in the named compressor and says which one it is. Every
// one is deterministic: zstd is the zstd command at level (0: ZstdLevel)
// where it is on PATH (its output does not depend on its thread count), else
// Go's encoder at its nearest level (its best for ZstdLevel).
func compressor(ctx context.Context, name string, level int, w io.Writer) (io.WriteCloser, string, error) {
	if level == 0 {
		level = ZstdLevel
	}
	switch name {
	case "", "zstd":
		if bin, err := exec.LookPath("zstd"); err == nil {
			c, err := startCommand(ctx, w, bin, fmt.Sprintf("-%d", level), "-T0", "-q", "-c", "-")
			return c, fmt.Sprintf("zstd -%d", level), err
		}
		// One encoder goroutine and a fixed window: the same bytes every time,
		// and a window the kernel's decompressor accepts.
		zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
			zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(8<<20))
		return zw, "zstd (Go encoder; no zstd command)", err
	case "gzip":
		zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
		return zw, name, err
	case "xz":
		// The kernel's xz decoder checks CRC32 only.
		zw, err := xz.WriterConfig{CheckSum: xz.CRC32}.NewWriter(w)
		return zw, name, err
	case "none":
		return nopCloser{w}, name, nil
	}
	return nil, "", checkCompression(name)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// command is a compressor process: what is written goes to its stdin, its
// stdout to the writer; Close waits for it.
type command struct {
	io.WriteCloser
	cmd    *exec.Cmd
	stderr bytes.Buffer
}

func startCommand(ctx context.Context, w io.Writer, bin string, args ...string) (*command, error) {
	c := &command{cmd: exec.CommandContext(ctx, bin, args...)}
	c.cmd.Stdout, c.cmd.Stderr = w, &c.stderr
	in, err := c.cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	c.WriteCloser = in
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("initramfs: %s: %w", bin, err)
	}
	return c, nil
}

func (c *command) Close() error {
	werr := c.WriteCloser.Close()
	if err := c.cmd.Wait(); err != nil {
		return fmt.Errorf("%s: %w: %s", c.cmd.Path, err, bytes.TrimSpace(c.stderr.Bytes()))
	}
	return werr
}
