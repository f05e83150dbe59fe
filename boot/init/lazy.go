package modeinit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mode-build/mode/boot/lazy"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/store"
)

// lazyStatusFile is where the lazy server keeps its progress.
var lazyStatusFile = layers.LazyFile(runDir)

// lazyPull maps the chain's layers to NBD devices read from the registry on
// demand (mode.lazy=on). It reports ok=false, having said why on the
// console, when the boot must download the layers whole instead: with
// mode.toram and mode.cache, a layer without verity data, a registry that
// ignores HTTP Range, or every layer already in the mode.cache directory
// dir. With mode.cache (dir on the cache disk) the layers are filled into
// dir; with mode.toram the fill into RAM starts at once, unbounded, and the
// boot waits for it before switch_root (lazyReport).
func (b *boot) lazyPull(dir string) (msg string, ok bool, err error) {
	if b.p.toram && b.p.cache != "" {
		b.logf("mode.lazy=on: not with mode.toram and mode.cache (the fill would go to the disk mode.toram lets go of): downloading the layers whole")
		return "", false, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	ref := b.p.ref
	var signed *store.Chain
	if b.pol.checks() {
		if ref, signed, err = b.verifyRef(ctx); err != nil {
			return "", false, err
		}
	}
	c, digest, err := remote.Chain(ctx, ref, remote.WithInsecure(b.p.insecure), remote.WithMirrors(b.p.mirrors...),
		remote.WithRetries(0, 500*time.Millisecond), remote.WithRetryFor(b.p.fetchTimeout))
	if err != nil {
		return "", false, fmt.Errorf("mode.ref=%s: %w", b.p.ref, err)
	}
	if signed != nil {
		c = signed // the layers' root hashes are the signed config's
	}
	metas := b.filter(c.Layers)
	spec := lazy.Spec{Ref: pinned(ref, string(digest)), Insecure: b.p.insecure, Mirrors: b.p.mirrors,
		FetchTimeout: b.p.fetchTimeout, Rate: lazy.Rate, RunDir: runDir, Prefix: "mode-init: "}
	if b.p.toram { // the boot waits for the fill: no bound, no wait for the steps
		spec.Rate, spec.Now = 0, true
	}
	cache := b.p.cache != ""
	if cache && inCache(dir, metas) {
		b.logf("mode.lazy=on: every layer is in mode.cache already: reading them from the disk")
		return "", false, nil
	}
	var total int64
	for _, m := range metas {
		if m.Verity == nil {
			b.logf("mode.lazy=on: layer %s has no verity data to check its blocks by: downloading the layers whole", m.File)
			return "", false, nil
		}
		l := lazy.Layer{File: filepath.Join(layersDir, m.File), Digest: m.Digest, Size: m.Size}
		if cache {
			l.File, l.Final = filepath.Join(dir, "."+m.File+".lazy"), filepath.Join(dir, m.File)
		}
		spec.Layers = append(spec.Layers, l)
		total += m.Size
	}
	ready, err := lazy.Start(spec, os.Stdout) // it outlives switch_root: it serves the layers for ever
	if err != nil {
		return "", false, err
	}
	if ready.NoRange != "" {
		b.logf("mode.lazy=on: %s: downloading the layers whole", ready.NoRange)
		return "", false, nil
	}
	top := metas[len(metas)-1].File
	b.dl = &download{name: strings.TrimSuffix(top, ".sqfs"), ref: b.p.ref, digest: string(digest), metas: metas,
		dir: layersDir, lazy: ready.Devices, pulled: ready.Fetched}
	where := ""
	if cache {
		b.dl.dir, where = dir, " into mode.cache"
	} else if b.p.toram {
		where = " into RAM, which the boot waits for before switch_root (mode.toram)"
	}
	return fmt.Sprintf("mapped %d layers, %s of %s %s lazily (%s fetched so far; each block checked by dm-verity as it is read, the rest filled in the background%s)",
		len(metas), layers.Size(total), b.dl.name, layers.ShortDigest(string(digest)), layers.Size(ready.Fetched), where), true, nil
}

// inCache says whether every layer of metas is in dir at its size (the
// whole pull then checks their digests and fetches none).
func inCache(dir string, metas []layers.Meta) bool {
	for _, m := range metas {
		fi, err := os.Stat(filepath.Join(dir, m.File))
		if err != nil || fi.Size() != m.Size {
			return false
		}
	}
	return true
}

// pinned is ref's repository at manifest digest d.
func pinned(ref, d string) string {
	if i := strings.LastIndex(ref, "@"); i >= 0 {
		ref = ref[:i]
	} else if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref + "@" + d
}

// lazyReport is the last boot step of a lazy boot: how much of the chain
// was fetched before switch_root (the boot report carries it).
func (b *boot) lazyReport() (string, error) {
	if b.dl == nil || b.dl.lazy == nil {
		return "lazy: not used (the layers were downloaded whole)", nil
	}
	if b.p.toram {
		return b.lazyWaitRAM(250 * time.Millisecond)
	}
	// The server writes its status once it sees chain.json (polled every 0.1 s).
	if c, err := os.Stat(chainFile); err == nil {
		for i := 0; i < 30; i++ {
			if s, err := os.Stat(lazyStatusFile); err == nil && !s.ModTime().Before(c.ModTime()) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	st, err := layers.ReadLazy(runDir)
	if err != nil {
		return "lazy: no status (" + err.Error() + ")", nil
	}
	return st.Summary("before switch_root"), nil
}
