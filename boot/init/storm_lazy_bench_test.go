package modeinit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/squashfs"
	"github.com/opencontainers/go-digest"
)

// BenchmarkStormLazy is BenchmarkStorm's storm from mode serve twice: each
// machine downloading the chain whole (the fetch step), then each with
// mode.lazy=on doing what a lazy boot fetches before switch_root, short of
// the kernel: stormLazyFetch. It reports the bytes mode serve served per
// machine each way (whole-served-KB, lazy-served-KB: the chain's blobs,
// manifest and config, and the report's answers) and their ratio.
func BenchmarkStormLazy(b *testing.B) {
	_, modeSrv, ref := stormOrigin(b)
	for b.Loop() {
		w := storm(b, modeSrv, modeSrv, "mode.ref="+ref)
		stormChunks = []remote.Option{remote.WithChunks(256<<10, 256<<10)} // the first round's fixed chunks
		f := storm(b, modeSrv, modeSrv, "mode.ref="+ref+" mode.lazy=on")
		stormChunks = nil
		l := storm(b, modeSrv, modeSrv, "mode.ref="+ref+" mode.lazy=on")
		per := func(r stormResult) float64 { return float64(r.served) / stormMachines / 1e3 }
		b.ReportMetric(per(w), "whole-served-KB")
		b.ReportMetric(per(f), "lazy256K-served-KB")
		b.ReportMetric(per(l), "lazy-served-KB")
		b.ReportMetric(float64(w.pulled)/stormMachines/1e3, "chain-KB")
		b.ReportMetric(per(l)/per(w), "lazy/whole")
		b.ReportMetric(w.p(50).Seconds(), "whole-p50-s")
		b.ReportMetric(l.p(50).Seconds(), "lazy-p50-s")
		b.ReportMetric(w.wall.Seconds(), "whole-wall-s")
		b.ReportMetric(l.wall.Seconds(), "lazy-wall-s")
	}
}

// stormChunks are the storm's Blobs' chunk options (nil: the defaults, as
// the lazy server's).
var stormChunks []remote.Option

// stormLazyFetch is a storm machine's lazy fetch step: the chain's manifest
// and config (remote.Chain, as lazyPull reads them), then for each layer the
// lazy server's Blob (Range requests of remote.FirstChunk growing to
// MaxChunk, or stormChunks) with its probe (the first fetch), and what mounting it and listing every directory of it read: the
// squashfs superblock and all its metadata tables (squashfs.InspectAt over
// the Blob), and the whole dm-verity hash tree after the squashfs when the
// layer has one (more than the kernel reads: only the tree's blocks over
// the blocks read; registrytest's layers have none: their tree would be
// about 1/128 of the layer, right after the tables the walk reads). No
// file's data is read: before switch_root the init reads none (the
// processes after it do, on demand). It sets m.dl.pulled to the bytes the
// Blobs fetched.
func (m *boot) stormLazyFetch() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	opts := []remote.Option{remote.WithInsecure(m.p.insecure), remote.WithMirrors(m.p.mirrors...),
		remote.WithRetries(0, 500*time.Millisecond), remote.WithRetryFor(m.p.fetchTimeout)}
	c, manifest, err := remote.Chain(ctx, m.p.ref, opts...)
	if err != nil {
		return "", fmt.Errorf("mode.ref=%s: %w", m.p.ref, err)
	}
	if err := os.MkdirAll(m.pullDir, 0o755); err != nil {
		return "", err
	}
	var fetched int64
	metas := m.filter(c.Layers)
	for _, l := range metas {
		end := l.Size // registrytest's layers have no hash tree
		if l.Verity != nil {
			end = l.Verity.HashOffset
		}
		blob, err := remote.OpenBlob(ctx, pinned(m.p.ref, string(manifest)), digest.Digest(l.Digest), l.Size, filepath.Join(m.pullDir, l.File), append(opts, stormChunks...)...)
		if err != nil {
			return "", err
		}
		err = blob.Probe()
		if err == nil {
			_, err = squashfs.InspectAt(blob, end)
		}
		if err == nil && end < l.Size {
			_, err = blob.ReadAt(make([]byte, l.Size-end), end)
		}
		fetched += blob.Fetched()
		blob.Close()
		if err != nil {
			return "", fmt.Errorf("layer %s: %w", l.File, err)
		}
	}
	m.dl = &download{pulled: fetched}
	return fmt.Sprintf("%d layers read lazily", len(metas)), nil
}
