package modeinit

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/store"
	"golang.org/x/sys/unix"
)

// cacheSubdir is where mode.cache=DEV keeps layers on its disk, unless the
// parameter names a directory (DEV:DIR).
const cacheSubdir = "mode/layers"

// pull fetches the chain named by mode.ref from its registry into
// /run/mode/layers, or into the cache disk with mode.cache (where layers
// already there with the right digest are not fetched again).
func (b *boot) pull() (string, error) {
	dir := layersDir
	if b.pullDir != "" {
		dir = b.pullDir
	}
	if b.p.cache != "" {
		spec := b.p.cache
		if !strings.Contains(spec, ":") {
			spec += ":" + cacheSubdir
		}
		d, err := b.source(spec, true)
		if err != nil {
			return "", fmt.Errorf("mode.cache=%s: %w", b.p.cache, err)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", fmt.Errorf("mode.cache=%s: %w", b.p.cache, err)
		}
		dir = d
		b.queueDir = d
		if b.netDown != nil { // no network: no registry can answer
			return b.offlineBoot(dir, fmt.Errorf("mode.ref=%s: no network: %w", b.p.ref, b.netDown))
		}
	}
	if b.p.lazy {
		if msg, ok, err := b.lazyPull(dir); ok || err != nil {
			return msg, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	ref := b.p.ref
	var signed *store.Chain // the chain's config, read through the verified manifest
	skip := map[string]bool{}
	if b.pol.checks() {
		pinned, c, err := b.verifyRef(ctx)
		if err != nil {
			if b.p.cache != "" && remote.Unreachable(err) {
				return b.offlineBoot(dir, err)
			}
			return "", err
		}
		ref, signed = pinned, c
		if b.p.cache != "" {
			skip = cachedVerity(dir, c)
		}
	}
	before := fileIDs(dir)
	first := true
	kept := map[string]bool{}
	keep := func(module string) bool {
		ok := first || b.p.wanted(module) // the base always
		if !ok {
			b.logf("layer %s left out (mode.load/mode.noload)", module)
		}
		first = false
		kept[module] = ok
		return ok && !skip[module]
	}
	opts := []remote.Option{
		remote.WithInsecure(b.p.insecure),
		remote.WithFilter(keep),
		remote.WithRetries(0, 500*time.Millisecond),
		remote.WithRetryFor(b.p.fetchTimeout),
		remote.WithRetryNotify(func(r remote.Retry) {
			b.logf("fetch: %s failed (%v); retrying in %s, %s of mode.fetch.timeout=%s left",
				r.What, r.Err, r.Wait.Round(time.Millisecond), (b.p.fetchTimeout - r.Stalled).Round(time.Second), b.p.fetchTimeout)
		}),
		remote.WithMirrors(b.p.mirrors...),
	}
	if b.p.debug {
		opts = append(opts, remote.WithLogger(slog.New(slog.NewTextHandler(b.out, nil))))
	}
	c, digest, err := remote.Pull(ctx, ref, dir, opts...)
	if err != nil {
		err = fmt.Errorf("mode.ref=%s: %w", b.p.ref, err)
		if b.p.cache != "" && remote.Unreachable(err) {
			return b.offlineBoot(dir, err)
		}
		return "", err
	}
	if b.p.cache != "" {
		b.cacheDir = dir // recorded as the chain to boot offline once mounted
		b.queued = takeQueued(dir)
	}
	if signed != nil {
		c.Layers = nil
		for _, m := range signed.Layers {
			if kept[m.Name] {
				c.Layers = append(c.Layers, m)
			}
		}
	}
	if len(c.Layers) == 0 {
		return "", fmt.Errorf("mode.ref=%s: the chain has no layers", b.p.ref)
	}
	if b.p.cache != "" {
		unix.Sync() // the layers reach the disk even if the machine is cut off
	}
	top := c.Layers[len(c.Layers)-1].File
	b.dl = &download{name: strings.TrimSuffix(top, ".sqfs"), ref: b.p.ref, digest: string(digest), metas: c.Layers, dir: dir}
	after := fileIDs(dir)
	n := 0
	for _, m := range c.Layers {
		if id, ok := after[m.File]; ok && before[m.File] != id {
			n++
			b.dl.pulled += m.Size
		}
	}
	msg := fmt.Sprintf("pulled %d layers, %s", n, layers.Size(b.dl.pulled))
	if cached := len(c.Layers) - n; cached > 0 && len(skip) > 0 {
		msg += fmt.Sprintf(" (%d already cached; dm-verity checks them as they are read)", cached)
	} else if cached > 0 {
		msg += fmt.Sprintf(" (%d already cached)", cached)
	}
	return msg + " of " + b.dl.name + " " + layers.ShortDigest(string(digest)), nil
}

// fileID tells a file's versions apart: a pulled layer is a new inode.
type fileID struct {
	ino   uint64
	mtime int64
	size  int64
}

// fileIDs returns the fileID of each file in dir.
func fileIDs(dir string) map[string]fileID {
	ids := map[string]fileID{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		fi, err := os.Stat(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		id := fileID{mtime: fi.ModTime().UnixNano(), size: fi.Size()}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			id.ino = st.Ino
		}
		ids[e.Name()] = id
	}
	return ids
}
