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

// DefaultChunk is the unit a Blob fetches and keeps: every read is
// widened to whole chunks, so many small reads cost few requests.
const DefaultChunk = 256 << 10

// Blob is one blob of a registry read by byte ranges (HTTP Range), on
// demand: each chunk is fetched once, from the first registry that serves it
// (WithMirrors), and kept in a local file, which Fill makes whole. The bytes
// are not checked here: what reads them checks them (dm-verity, against a
// root hash from the verified chain config); Fill checks the whole file's
// digest once it is complete.
type Blob struct {
	p     *puller
	desc  ocispec.Descriptor
	f     *os.File
	chunk int64
	ctx   context.Context

	mu      sync.Mutex
	cond    *sync.Cond
	state   []uint8 // per chunk: missing, fetching, present
	present int
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
// (created sparse, size bytes). A chunk that fails is retried as the options
// say (WithRetries, WithRetryFor, WithRetryNotify), then the read that wanted
// it fails; ctx ends every fetch.
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
	n := (size + DefaultChunk - 1) / DefaultChunk
	b := &Blob{p: &puller{o: o, srcs: srcs}, desc: ocispec.Descriptor{Digest: d, Size: size}, f: f,
		chunk: DefaultChunk, ctx: ctx, state: make([]uint8, n), whole: make(chan struct{})}
	b.cond = sync.NewCond(&b.mu)
	return b, nil
}

// Probe fetches the first chunk: ErrNoRange when the registry ignores Range.
func (b *Blob) Probe() error { return b.ensure(0) }

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

// ReadAt reads len(p) bytes at off, fetching the chunks it needs first.
func (b *Blob) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= b.desc.Size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), b.desc.Size)
	for i := off / b.chunk; i*b.chunk < end; i++ {
		if err := b.ensure(i); err != nil {
			return 0, err
		}
	}
	n, err := b.f.ReadAt(p[:end-off], off)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

// ensure makes chunk i present: fetched, or waited for while another
// goroutine fetches it.
func (b *Blob) ensure(i int64) error {
	b.mu.Lock()
	for b.state[i] == chunkFetching {
		b.cond.Wait()
	}
	if b.state[i] == chunkPresent {
		b.mu.Unlock()
		return nil
	}
	b.state[i] = chunkFetching
	b.mu.Unlock()
	err := b.fetch(i)
	b.mu.Lock()
	if err != nil {
		b.state[i] = chunkMissing
	} else {
		b.state[i] = chunkPresent
		b.present++
		if b.present == len(b.state) {
			close(b.whole)
		}
	}
	b.cond.Broadcast()
	b.mu.Unlock()
	return err
}

// fetch GETs chunk i with a Range request from the first registry that
// serves it, retrying, and writes it to the file.
func (b *Blob) fetch(i int64) error {
	off := i * b.chunk
	n := min(b.chunk, b.desc.Size-off)
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

// Fill fetches every chunk not yet present, in order, at most rate bytes
// a second (0: no limit), until the blob is whole or ctx ends; then it
// checks the file's digest. A chunk that fails is tried again after wait
// (the network may come back) until ctx ends. It returns nil once the file
// is whole and matches the digest.
func (b *Blob) Fill(ctx context.Context, rate int64, wait time.Duration) error {
	start := time.Now()
	var sent int64
	for i := int64(0); i < int64(len(b.state)); i++ {
		for {
			b.mu.Lock()
			present := b.state[i] == chunkPresent
			b.mu.Unlock()
			if present {
				break
			}
			err := b.ensure(i)
			if err == nil {
				sent += min(b.chunk, b.desc.Size-i*b.chunk)
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
		if rate > 0 {
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
