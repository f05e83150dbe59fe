package remote

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mode-build/mode/registry/store"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// layer brings the layer desc to dir/<title>: kept when already there with the
// right digest, linked from the store when it has the blob, downloaded
// otherwise. A download resumes from its partial file with HTTP Range. With
// p.ingest the file then goes into the store (moved, or hard-linked) as
// soon as it is whole, while other layers still download.
func (p *puller) layer(ctx context.Context, desc ocispec.Descriptor, dir string) error {
	file := desc.Annotations[store.AnnotationTitle]
	dst := filepath.Join(dir, file)
	want := desc.Digest
	bp := startTracker(p.o.progress, file, want, desc.Size)
	s := p.o.store
	if p.ingest != nil && p.storeOnly && s.HasBlob(want, desc.Size) {
		bp.done(FromStore) // nothing to write: dir is the pull's scratch
		return nil
	}
	if d, n, err := store.FileDigest(dst, want.Algorithm()); err == nil && d == want && n == desc.Size {
		bp.done(Present)
		return p.commit(desc, dst)
	}
	part := filepath.Join(dir, partialName(file, desc))
	if s != nil && s.HasBlob(want, desc.Size) {
		os.Remove(part) // what an earlier pull left: the store has it whole
		if _, err := s.LinkBlob(want, part); err == nil {
			bp.done(FromStore)
			return os.Rename(part, dst)
		}
	}
	held := func() int64 { return fileSize(part) } // progress: the partial file grew
	err := p.each(ctx, file, func(src *source) error {
		try := func() error { return p.download(ctx, src, desc, part, bp) }
		err := src.o.retryProgress(ctx, file, held, try)
		if errors.Is(err, errBadPartial) {
			// What an earlier pull left was corrupt, not the registry's blob:
			// it is gone, fetch the whole blob once more before blaming the registry.
			p.o.logger.Warn("discarded a corrupt partial download", "layer", file, "digest", want)
			bp.set(0)
			err = src.o.retryProgress(ctx, file, held, try)
		}
		return err
	})
	if err != nil {
		bp.done(Failed)
		return fmt.Errorf("layer %s (%s): %w", file, want, err)
	}
	if err := os.Rename(part, dst); err != nil {
		return fmt.Errorf("layer %s: %w", file, err)
	}
	if err := p.commit(desc, dst); err != nil {
		return err
	}
	bp.done(Pulled)
	return nil
}

// commit hands the whole, verified layer file path to p.ingest, if any.
func (p *puller) commit(desc ocispec.Descriptor, path string) error {
	if p.ingest == nil {
		return nil
	}
	if err := p.ingest(desc, path); err != nil {
		return fmt.Errorf("layer %s: store: %w", desc.Annotations[store.AnnotationTitle], err)
	}
	return nil
}

// download makes one attempt at fetching desc from src into part, resuming
// from what part holds (whichever registry it came from: the digest checks the
// whole). On success part is whole and verified.
func (p *puller) download(ctx context.Context, src *source, desc ocispec.Descriptor, part string, bp *tracker) error {
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return permanent{err}
	}
	defer f.Close()
	h := desc.Digest.Algorithm().Hash()
	off, err := io.Copy(h, f) // what an earlier try left
	if err != nil {
		return permanent{err}
	}
	resumed := off > 0 && off <= desc.Size
	if off > desc.Size {
		if off, err = restart(f, h); err != nil {
			return err
		}
	}
	bp.set(off)
	if off < desc.Size {
		hdr := http.Header{}
		if off > 0 {
			hdr.Set("Range", fmt.Sprintf("bytes=%d-", off))
		}
		tctx, wd, stop := startWatchdog(ctx, p.o.idle)
		defer stop()
		resp, err := src.do(tctx, src.url("blobs", string(desc.Digest)), hdr, http.StatusOK, http.StatusPartialContent, http.StatusRequestedRangeNotSatisfiable)
		if err != nil {
			return wd.err(err)
		}
		defer resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusRequestedRangeNotSatisfiable:
			// The registry's blob is shorter than the off bytes we hold,
			// themselves fewer than the manifest says: no try can fix it.
			f.Close()
			os.Remove(part)
			return permanent{fmt.Errorf("the registry's blob is shorter than %d bytes (Range %d- not satisfiable), the manifest says %d: %w",
				off, off, desc.Size, store.ErrDigest)}
		case http.StatusOK:
			if off > 0 {
				p.o.logger.Debug("registry ignored Range: starting again", "digest", desc.Digest)
				if off, err = restart(f, h); err != nil {
					return err
				}
				bp.set(0)
			}
		case http.StatusPartialContent:
			if start, ok := rangeStart(resp.Header.Get("Content-Range")); !ok || start != off {
				restart(f, h)
				return fmt.Errorf("Content-Range %q does not start at %d: starting again", resp.Header.Get("Content-Range"), off)
			}
			p.o.logger.Debug("resuming", "digest", desc.Digest, "offset", off)
		}
		body := io.LimitReader(resp.Body, desc.Size-off+1)
		wb := newWriteback(f, off)
		n, err := io.Copy(io.MultiWriter(wb, h, bp, wd), body)
		wb.Close()
		off += n
		if err != nil {
			return fmt.Errorf("after %d of %d bytes: %w", off, desc.Size, wd.err(err))
		}
		if off < desc.Size && resp.ContentLength >= 0 {
			// The registry sent all it declared, and it is not the whole
			// blob: its copy is short, not our connection.
			f.Close()
			os.Remove(part)
			return permanent{fmt.Errorf("the registry's blob ends at %d of the manifest's %d bytes: %w", off, desc.Size, store.ErrDigest)}
		}
	}
	switch {
	case off > desc.Size:
		restart(f, h)
		return permanent{fmt.Errorf("blob is longer than its %d bytes: %w", desc.Size, store.ErrDigest)}
	case off < desc.Size:
		return fmt.Errorf("truncated: got %d of %d bytes", off, desc.Size)
	}
	if got := digest.NewDigest(desc.Digest.Algorithm(), h); got != desc.Digest {
		f.Close()
		os.Remove(part)
		if resumed {
			return permanent{errBadPartial}
		}
		return permanent{fmt.Errorf("%w: content is %s (blob tampered with or corrupt)", store.ErrDigest, got)}
	}
	if p.ingest == nil { // else the store fsyncs it, once
		if err := f.Sync(); err != nil {
			return permanent{err}
		}
	}
	return f.Close()
}

// fileSize returns the size of file, 0 when it cannot be read.
func fileSize(file string) int64 {
	fi, err := os.Stat(file)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// errBadPartial: a download resumed from a partial file failed its digest;
// the partial is removed and the blob fetched again from its start.
var errBadPartial = errors.New("the partial download failed verification")

// restart empties the partial file f and resets h.
func restart(f *os.File, h hash.Hash) (int64, error) {
	h.Reset()
	if err := f.Truncate(0); err != nil {
		return 0, permanent{err}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, permanent{err}
	}
	return 0, nil
}

// rangeStart parses the first byte position of a Content-Range "bytes a-b/n".
func rangeStart(cr string) (int64, bool) {
	rest, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return 0, false
	}
	a, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(a, 10, 64)
	return n, err == nil
}
