package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mode-build/mode/registry/store"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrNoRange is returned by Blob.Probe when the registry answers a Range
// request with the whole blob (200): it cannot be read lazily.
var ErrNoRange = errors.New("the registry ignores HTTP Range (answered 200 to a range request)")

// The chunks a Blob fetches: every read is widened to whole units of
// MinChunk, and grows as a file system's reads run on: a read where no
// other ended fetches FirstChunk (a mount's superblock, a table, a
// hash block: little of a layer it never reads), and each read that
// starts where the last fetch ended fetches twice as much as that one, up
// to MaxChunk (a file read through: few requests). The background fill
// fetches MaxChunk at a time.
const (
	MinChunk   = 32 << 10
	FirstChunk = 64 << 10
	MaxChunk   = 1 << 20
)

// WithChunks sets a Blob's first and largest fetch (FirstChunk and
// MaxChunk by default), each rounded up to whole MinChunk units; equal,
// every fetch is that size.
func WithChunks(first, max int64) Option {
	return func(o *options) { o.chunkFirst, o.chunkMax = first, max }
}

// Blob is one blob of a registry read by byte ranges (HTTP Range), on
// demand: each unit is fetched once, from the first registry that serves it
// (WithMirrors), and kept in a local file, which Fill makes whole. The bytes
// are not checked here: what reads them checks them (dm-verity, against a
// root hash from the verified chain config); Fill checks the whole file's
// digest once it is complete.
type Blob struct {
	p     *puller
	desc  ocispec.Descriptor
	f     *os.File
	chunk int64 // the unit: MinChunk
	ctx   context.Context
	// first and max are the first fetch's and the largest fetch's units.
	first, max int64

	mu      sync.Mutex
	cond    *sync.Cond
	state   []uint8 // per unit: missing, fetching, present
	present int
	next    int64        // the unit after the last read's fetch
	win     int64        // that fetch's units
	fetched atomic.Int64 // bytes received from registries
	whole   chan struct{}
}

const (
	chunkMissing = iota
	chunkFetching
	chunkPresent
)

// OpenBlob makes the Blob of digest d (size bytes) in the repository of ref
// (HOST[:PORT]/REPO[:TAG|@DIGEST]: the tag is not used), kept in file
// (created sparse, size bytes). A fetch that fails is retried as the options
// say (WithRetries, WithRetryFor, WithRetryNotify), then the read that wanted
// it fails; ctx ends every fetch. WithChunks sets the fetches' sizes.
func OpenBlob(ctx context.Context, ref string, d digest.Digest, size int64, file string, opts ...Option) (*Blob, error) {
	if err := store.CheckDigest(d); err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, fmt.Errorf("blob %s: size %d", d, size)
	}
	o := makeOptions(opts)
	r, err := parseRef(ref, "", o)
	if err != nil {
		return nil, err
	}
	srcs, err := sources(r, o)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", d, err)
	}
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return nil, err
	}
	units := func(n, def int64) int64 {
		if n <= 0 {
			n = def
		}
		return (n + MinChunk - 1) / MinChunk
	}
	n := (size + MinChunk - 1) / MinChunk
	b := &Blob{p: &puller{o: o, srcs: srcs}, desc: ocispec.Descriptor{Digest: d, Size: size}, f: f,
		chunk: MinChunk, ctx: ctx, state: make([]uint8, n), whole: make(chan struct{}),
		first: units(o.chunkFirst, FirstChunk), max: units(o.chunkMax, MaxChunk), next: -1}
	b.max = max(b.max, b.first)
	b.cond = sync.NewCond(&b.mu)
	return b, nil
}

// Probe fetches the first FirstChunk (the superblock's): ErrNoRange when
// the registry ignores Range.
func (b *Blob) Probe() error { return b.read(0, 1) }

// Size is the blob's size.
func (b *Blob) Size() int64 { return b.desc.Size }

// Fetched returns the bytes received from registries so far.
func (b *Blob) Fetched() int64 { return b.fetched.Load() }

// Local returns the bytes held in the file so far.
func (b *Blob) Local() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := int64(b.present) * b.chunk
	if b.present == len(b.state) {
		return b.desc.Size
	}
	return min(n, b.desc.Size)
}

// Whole is closed when every chunk is in the file: reads no longer touch
// the network.
func (b *Blob) Whole() <-chan struct{} { return b.whole }

// ReadAt reads len(p) bytes at off, fetching the units it needs first.
func (b *Blob) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= b.desc.Size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), b.desc.Size)
	if err := b.read(off/b.chunk, (end+b.chunk-1)/b.chunk); err != nil {
		return 0, err
	}
	n, err := b.f.ReadAt(p[:end-off], off)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

// read makes units [i, e) present for a read: each missing run is fetched
// with at least the read's window (the readahead: FirstChunk, doubled
// while reads run on from the last one's fetch, up to MaxChunk).
func (b *Blob) read(i, e int64) error {
	for ; i < e; i++ {
		b.mu.Lock()
		if b.state[i] == chunkPresent {
			b.mu.Unlock()
			continue
		}
		if i == b.next {
			b.win = min(2*b.win, b.max)
		} else {
			b.win = b.first
		}
		n := max(e-i, b.win)
		b.next = i + n
		b.mu.Unlock()
		if err := b.ensure(i, n); err != nil {
			return err
		}
	}
	return nil
}

// ensure makes unit i present, fetching it with up to n-1 missing units
// after it in one request, or waiting while another goroutine fetches it.
func (b *Blob) ensure(i, n int64) error {
	b.mu.Lock()
	for b.state[i] == chunkFetching {
		b.cond.Wait()
	}
	if b.state[i] == chunkPresent {
		b.mu.Unlock()
		return nil
	}
	j := i
	for j < min(i+n, int64(len(b.state))) && b.state[j] == chunkMissing {
		b.state[j] = chunkFetching
		j++
	}
	b.mu.Unlock()
	err := b.fetch(i, j)
	b.mu.Lock()
	for k := i; k < j; k++ {
		if err != nil {
			b.state[k] = chunkMissing
		} else {
			b.state[k] = chunkPresent
			b.present++
		}
	}
	if err == nil && b.present == len(b.state) {
		close(b.whole)
	}
	b.cond.Broadcast()
	b.mu.Unlock()
	return err
}

// fetch GETs units [i, j) with a Range request from the first registry
// that serves them, retrying, and writes them to the file.
func (b *Blob) fetch(i, j int64) error {
	off := i * b.chunk
	n := min((j-i)*b.chunk, b.desc.Size-off)
	what := fmt.Sprintf("blob %s bytes %d-%d", b.desc.Digest, off, off+n-1)
	return b.p.each(b.ctx, what, func(src *source) error {
		return src.o.retry(b.ctx, what, func() error { return b.fetchFrom(src, off, n) })
	})
}

// fetchFrom is one try of fetch from src.
func (b *Blob) fetchFrom(src *source, off, n int64) error {
	ctx, wd, stop := startWatchdog(b.ctx, src.o.idle)
	defer stop()
	h := http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", off, off+n-1)}}
	resp, err := src.do(ctx, src.url("blobs", string(b.desc.Digest)), h, http.StatusOK, http.StatusPartialContent)
	if err != nil {
		return wd.err(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if off == 0 && n == b.desc.Size {
			// The whole blob is one chunk: a 200 is the answer.
		} else {
			return permanent{ErrNoRange}
		}
	} else if start, ok := rangeStart(resp.Header.Get("Content-Range")); !ok || start != off {
		return fmt.Errorf("Content-Range %q does not start at %d", resp.Header.Get("Content-Range"), off)
	}
	buf := make([]byte, n)
	got, err := io.ReadFull(io.TeeReader(resp.Body, wd), buf)
	b.fetched.Add(int64(got))
	if err != nil {
		return fmt.Errorf("after %d of %d bytes: %w", got, n, wd.err(err))
	}
	if _, err := b.f.WriteAt(buf, off); err != nil {
		return permanent{err}
	}
	return nil
}

// Fill fetches every unit not yet present, in order, MaxChunk at a time
// (WithChunks), at most rate bytes a second (0: no limit), until the blob
// is whole or ctx ends; then it checks the file's digest. A fetch that fails is tried again after wait
// (the network may come back) until ctx ends. It returns nil once the file
// is whole and matches the digest.
func (b *Blob) Fill(ctx context.Context, rate int64, wait time.Duration) error {
	start := time.Now()
	var sent int64
	for i := int64(0); i < int64(len(b.state)); i++ {
		got := false
		for {
			b.mu.Lock()
			present := b.state[i] == chunkPresent
			b.mu.Unlock()
			if present {
				break
			}
			before := b.fetched.Load()
			err := b.ensure(i, b.max)
			if err == nil {
				sent += b.fetched.Load() - before
				got = true
				break
			}
			if errors.As(err, new(permanent)) {
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
		if rate > 0 && got {
			due := start.Add(time.Duration(float64(sent) / float64(rate) * float64(time.Second)))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Until(due)):
			}
		}
	}
	return b.Check()
}

// Check computes the digest of the whole file (it must be whole).
func (b *Blob) Check() error {
	got, err := b.desc.Digest.Algorithm().FromReader(io.NewSectionReader(b.f, 0, b.desc.Size))
	if err != nil {
		return err
	}
	if got != b.desc.Digest {
		return fmt.Errorf("blob %s: %w: the whole file is %s (changed after the chain was served?)", b.desc.Digest, store.ErrDigest, got)
	}
	return nil
}

// Close closes the file.
func (b *Blob) Close() error { return b.f.Close() }
