package remote

import (
	"os"

	"golang.org/x/sys/unix"
)

// writebackEvery is how many bytes of a download go to the page cache
// before their writeback to disk is started.
const writebackEvery = 4 << 20

// writeback is a download's file, starting the kernel's writeback of each
// writebackEvery bytes as they arrive (sync_file_range WRITE), so that the
// one fsync when the layer is whole waits for the tail only: the disk
// writes while the network still sends. sync_file_range can block while
// the device's queue is full, so a goroutine of its own calls it, never
// the download. Close waits for it.
type writeback struct {
	f          *os.File
	off, start int64 // bytes written; where the range not yet handed to writeback starts
	ranges     chan [2]int64
	done       chan struct{}
}

func newWriteback(f *os.File, off int64) *writeback {
	w := &writeback{f: f, off: off, start: off, ranges: make(chan [2]int64, 64), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for r := range w.ranges {
			// Only a hint: an error here leaves the work to fsync.
			unix.SyncFileRange(int(w.f.Fd()), r[0], r[1], unix.SYNC_FILE_RANGE_WRITE)
		}
	}()
	return w
}

func (w *writeback) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.off-w.start >= writebackEvery {
		select {
		case w.ranges <- [2]int64{w.start, w.off - w.start}:
			w.start = w.off
		default: // the writer goroutine is behind: hand it a longer range next time
		}
	}
	return n, err
}

// Close waits for the writeback goroutine; the file stays open.
func (w *writeback) Close() error {
	close(w.ranges)
	<-w.done
	return nil
}
