package netboot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mode-build/mode/boot/initramfs"
	"github.com/mode-build/mode/boot/media"
	"github.com/mode-build/mode/registry/store"
	digest "github.com/opencontainers/go-digest"
)

// CacheDir is the directory of the store where chainKernels keeps each
// chain kernel's files: CacheDir/KERNEL-DIGEST/vmlinuz and
// initrd-BUILD-KEY.img.
const CacheDir = "netboot"

// DefaultKeepKernels is how many kernels the cache keeps (the most recently
// used); the others' directories are removed.
const DefaultKeepKernels = 8

// maxMemo bounds the chains whose files chainKernels remembers (by manifest
// digest); past it, it forgets them all and finds them again.
const maxMemo = 1024

// chainKernels serves each chain's own kernel (/boot/vmlinuz-* of its
// layers) and an initramfs with that kernel's modules, built on first use
// and kept under the store; chains without a kernel get the defaults.
type chainKernels struct {
	st     *store.Store
	dir    string // STORE/netboot
	keep   int
	kernel *File // the defaults, for chains without a kernel
	initrd *File
	// prepare returns the options of mode's initramfs with the kernel
	// modules kmods, and what removes what it made for them.
	prepare func(kmods string) (initramfs.Options, func(), error)
	built   func(*initramfs.Result)
	logger  *slog.Logger

	build chan struct{} // one initramfs build at a time
	mu    sync.Mutex
	memo  map[digest.Digest]*bootFiles // manifest → files
	calls map[digest.Digest]*call      // manifest → the look-up under way
}

// bootFiles are a chain's kernel and initramfs; none when it has no kernel.
type bootFiles struct {
	vmlinuz, initrd string
}

type call struct {
	done chan struct{}
	res  *bootFiles
	err  error
}

func newChainKernels(st *store.Store, def Config, o Options, prepare func(string) (initramfs.Options, func(), error), logger *slog.Logger) (*chainKernels, error) {
	dir := filepath.Join(st.Dir(), CacheDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("netboot: %w", err)
	}
	sweepTemp(dir) // what killed servers were building
	keep := o.KeepKernels
	if keep <= 0 {
		keep = DefaultKeepKernels
	}
	return &chainKernels{
		st: st, dir: dir, keep: keep, kernel: def.Kernel, initrd: def.Initrd,
		prepare: prepare, built: o.Built, logger: logger,
		build: make(chan struct{}, 1),
		memo:  map[digest.Digest]*bootFiles{}, calls: map[digest.Digest]*call{},
	}, nil
}

// Path returns the file (vmlinuz or initrd.img) that chain repo:ref boots with.
func (k *chainKernels) Path(ctx context.Context, repo, ref, file string) (string, error) {
	ch, _, md, err := k.st.Chain(repo, ref)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("chain %s:%s: %w", repo, ref, store.ErrNotFound)
	} else if err != nil {
		k.logger.Error("boot: a chain of the store", "chain", repo+":"+ref, "err", err)
		return "", fmt.Errorf("chain %s:%s: unreadable (the server's log says why)", repo, ref)
	}
	ls := make([]media.Layer, len(ch.Layers))
	for i, m := range ch.Layers {
		ls[i] = media.Layer{Path: k.st.BlobPath(digest.Digest(m.Digest)), Meta: m}
	}
	bf, err := k.files(ctx, md, ls)
	if err != nil {
		k.logger.Error("boot: a chain's kernel", "chain", repo+":"+ref, "err", err)
		return "", fmt.Errorf("chain %s:%s: its kernel and initramfs could not be made (the server's log says why)", repo, ref)
	}
	switch {
	case bf.vmlinuz == "" && file == "vmlinuz":
		return k.kernel.Path(ctx)
	case bf.vmlinuz == "":
		return k.initrd.Path(ctx)
	case file == "vmlinuz":
		return bf.vmlinuz, nil
	}
	return bf.initrd, nil
}

// files returns the boot files of the chain with manifest md: remembered,
// or made once however many ask at the same time.
func (k *chainKernels) files(ctx context.Context, md digest.Digest, ls []media.Layer) (*bootFiles, error) {
	k.mu.Lock()
	if bf, ok := k.memo[md]; ok && bf.present() {
		k.mu.Unlock()
		return bf, nil
	}
	c, ok := k.calls[md]
	if !ok {
		c = &call{done: make(chan struct{})}
		k.calls[md] = c
		go func() { // not the request's: others wait for it too
			c.res, c.err = k.make(context.WithoutCancel(ctx), ls)
			k.mu.Lock()
			delete(k.calls, md)
			if c.err == nil {
				if len(k.memo) >= maxMemo {
					clear(k.memo)
				}
				k.memo[md] = c.res
			}
			k.mu.Unlock()
			close(c.done)
		}()
	}
	k.mu.Unlock()
	select {
	case <-c.done:
		return c.res, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// present says the files are still there (a cache pruned by another server).
func (bf *bootFiles) present() bool {
	if bf.vmlinuz == "" {
		return true
	}
	for _, f := range []string{bf.vmlinuz, bf.initrd} {
		if _, err := os.Stat(f); err != nil {
			return false
		}
	}
	return true
}

// make finds the chain's kernel, puts it into the cache by its digest and
// builds the initramfs for it there unless it is there already.
func (k *chainKernels) make(ctx context.Context, ls []media.Layer) (*bootFiles, error) {
	src, err := media.LocateKernel(ls)
	if err != nil || src == nil {
		return &bootFiles{}, err
	}
	tmp, err := os.MkdirTemp(k.dir, fmt.Sprintf("%s%d-*", tempPrefix, os.Getpid()))
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	vm, err := src.ExtractVmlinuz(ctx, tmp)
	if err != nil {
		return nil, err
	}
	kd, _, err := store.FileDigest(vm, digest.SHA256)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(k.dir, kd.Encoded())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	bf := &bootFiles{vmlinuz: filepath.Join(dir, "vmlinuz")}
	if _, err := os.Stat(bf.vmlinuz); err != nil {
		if err := os.Chmod(vm, 0o644); err != nil {
			return nil, err
		}
		if err := os.Rename(vm, bf.vmlinuz); err != nil { // whole or not at all
			return nil, err
		}
	}
	if bf.initrd, err = k.initramfs(ctx, src, dir, tmp); err != nil {
		return nil, fmt.Errorf("kernel %s (%s): %w", src.Version, kd, err)
	}
	now := time.Now()
	os.Chtimes(dir, now, now) // most recently used
	k.prune(dir)
	return bf, nil
}

// initramfs returns the initramfs of the kernel in dir for what mode puts
// into it now (its build key: the init binary, keys, CA...), building it
// with the kernel's modules unless it is there.
func (k *chainKernels) initramfs(ctx context.Context, src *media.KernelSource, dir, tmp string) (string, error) {
	opts, done, err := k.prepare("")
	if err != nil {
		return "", err
	}
	key, err := buildKey(opts)
	done()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "initrd-"+key+".img")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	select { // bounded: one build at a time
	case k.build <- struct{}{}:
		defer func() { <-k.build }()
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if _, err := os.Stat(out); err == nil { // another chain with this kernel built it meanwhile
		return out, nil
	}
	mods, err := src.ExtractModules(ctx, tmp)
	if err != nil {
		return "", err
	}
	opts, done, err = k.prepare(mods)
	if err != nil {
		return "", err
	}
	defer done()
	res, err := initramfs.BuildFile(ctx, opts, out)
	if err != nil {
		return "", err
	}
	if k.built != nil {
		k.built(res)
	}
	// Initramfs files of other build keys (an older mode) are stale.
	olds, _ := filepath.Glob(filepath.Join(dir, "initrd-*.img"))
	for _, o := range olds {
		if o != out {
			os.Remove(o)
		}
	}
	return out, nil
}

// prune removes the directories of the kernels least recently used past
// k.keep, never current.
func (k *chainKernels) prune(current string) {
	entries, err := os.ReadDir(k.dir)
	if err != nil {
		return
	}
	type kdir struct {
		path string
		used time.Time
	}
	var ds []kdir
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		if info, err := e.Info(); err == nil {
			ds = append(ds, kdir{filepath.Join(k.dir, e.Name()), info.ModTime()})
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].used.After(ds[j].used) })
	for i := k.keep; i < len(ds); i++ {
		if ds[i].path != current {
			if err := os.RemoveAll(ds[i].path); err != nil {
				k.logger.Warn("boot: pruning the kernel cache", "err", err)
			}
		}
	}
}

// buildKey names what goes into mode's initramfs besides the kernel's
// modules: the digests of the init and mode binaries, busybox, the CA
// bundle and each more file (trusted keys, the site CA), the modules wanted
// and the compressor. An initramfs built for other ones is not reused.
func buildKey(o initramfs.Options) (string, error) {
	h := digest.SHA256.Digester()
	fmt.Fprintf(h.Hash(), "mode netboot initramfs 1\nmodules %s\ncompress %s %d\n", strings.Join(o.Modules, ","), o.Compress, o.ZstdLevel)
	add := func(name, file string, mode uint64) error {
		d := digest.Digest("-")
		if file != "" {
			var err error
			if d, _, err = store.FileDigest(file, digest.SHA256); err != nil {
				return err
			}
		}
		fmt.Fprintf(h.Hash(), "%s %o %s\n", name, mode, d)
		return nil
	}
	for _, f := range []struct{ name, file string }{{"init", o.Init}, {"mode", o.Mode}, {"busybox", o.Busybox}, {"ca", o.CACerts}} {
		if err := add(f.name, f.file, 0); err != nil {
			return "", err
		}
	}
	for _, f := range o.Files {
		if err := add("file:"+f.Name, f.Source, f.Mode); err != nil {
			return "", err
		}
	}
	if o.KernelModules != "" {
		return "", errors.New("netboot: build key of options with kernel modules")
	}
	return h.Digest().Encoded()[:32], nil
}
