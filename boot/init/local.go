package modeinit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/mount"
	"golang.org/x/sys/unix"
)

// download is what the fetch step produced: a chain's layers, base first, as
// files in dir.
type download struct {
	name   string        // the top layer's file name without .sqfs
	ref    string        // where it came from
	digest string        // the manifest digest, when pulled
	metas  []layers.Meta // base first
	dir    string
	pulled int64 // bytes transferred over the network
	// lazy: with mode.lazy=on, each layer's NBD device (read through
	// dm-verity instead of the file, which fills in the background)
	lazy []string
}

func (d *download) files() []string {
	var f []string
	for _, m := range d.metas {
		f = append(f, filepath.Join(d.dir, m.File))
	}
	return f
}

func (d *download) size() int64 {
	var n int64
	for _, m := range d.metas {
		n += m.Size
	}
	return n
}

// localChain finds the chain named want (a MoDe file name with or without
// .sqfs, or its top module's name; the longest chain when empty) among the
// .sqfs files of dir. A FILE.json beside a layer (layers.Meta) names its chain;
// without one, the chain is every file whose name plus "-" prefixes the
// wanted one's.
func localChain(dir, want string) ([]layers.Meta, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	found := map[string]layers.Meta{} // by file name
	var names []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sqfs") {
			continue
		}
		m, err := readMeta(dir, e.Name())
		if err != nil {
			return nil, err
		}
		found[e.Name()] = m
		names = append(names, e.Name())
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no .sqfs layers in %s", dir)
	}
	top, err := pickTop(names, found, want)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	var chain []string
	if c := found[top].Chain; len(c) > 0 {
		for i := range c {
			f := strings.Join(c[:i+1], "-") + ".sqfs"
			if _, ok := found[f]; !ok {
				return nil, fmt.Errorf("%s: layer %s of chain %s is missing", dir, f, top)
			}
			chain = append(chain, f)
		}
	} else {
		stem := strings.TrimSuffix(top, ".sqfs")
		for _, f := range names {
			if f == top || strings.HasPrefix(stem, strings.TrimSuffix(f, ".sqfs")+"-") {
				chain = append(chain, f)
			}
		}
		sort.Slice(chain, func(i, j int) bool { return len(chain[i]) < len(chain[j]) })
	}
	metas := make([]layers.Meta, len(chain))
	for i, f := range chain {
		metas[i] = found[f]
	}
	return metas, nil
}

// readMeta reads FILE.json beside FILE.sqfs in dir, or makes a Meta from the
// file alone.
func readMeta(dir, file string) (layers.Meta, error) {
	stem := strings.TrimSuffix(file, ".sqfs")
	m := layers.Meta{File: file}
	if b, err := os.ReadFile(filepath.Join(dir, stem+".json")); err == nil {
		if err := json.Unmarshal(b, &m); err != nil {
			return m, fmt.Errorf("%s: %w", filepath.Join(dir, stem+".json"), err)
		}
		m.File = file
	} else if !errors.Is(err, os.ErrNotExist) {
		return m, err
	}
	if m.Name == "" {
		m.Name = stem[strings.LastIndex(stem, "-")+1:]
	}
	fi, err := os.Stat(filepath.Join(dir, file))
	if err != nil {
		return m, err
	}
	m.Size = fi.Size()
	return m, nil
}

// pickTop chooses the top layer's file among names.
func pickTop(names []string, metas map[string]layers.Meta, want string) (string, error) {
	if want == "" {
		best := names[0]
		for _, n := range names[1:] {
			if len(n) > len(best) || len(n) == len(best) && n > best {
				best = n
			}
		}
		return best, nil
	}
	want = strings.TrimSuffix(want, ".sqfs")
	for _, n := range names {
		if n == want+".sqfs" {
			return n, nil
		}
	}
	var hits []string
	for _, n := range names {
		if metas[n].Name == want || strings.HasSuffix(n, "-"+want+".sqfs") {
			hits = append(hits, n)
		}
	}
	if len(hits) != 1 {
		return "", fmt.Errorf("chain %q: %d layers match (have %s)", want, len(hits), strings.Join(names, ", "))
	}
	return hits[0], nil
}

// source mounts spec ("DEV[:DIR]", or a directory of the initramfs) and
// returns the directory it names. rw mounts the device read-write.
func (b *boot) source(spec string, rw bool) (string, error) {
	if isMediumSpec(spec) {
		s, err := resolveMedium(spec, mediumWait)
		if err != nil {
			return "", err
		}
		spec = s
	}
	if !strings.HasPrefix(spec, "/dev/") {
		if fi, err := os.Stat(spec); err != nil || !fi.IsDir() {
			return "", fmt.Errorf("%s: not a directory nor a /dev device", spec)
		}
		return spec, nil
	}
	dev, sub, _ := strings.Cut(spec, ":")
	if err := waitFile(dev, 10*time.Second); err != nil {
		return "", fmt.Errorf("device %s: %w", dev, err)
	}
	target := filepath.Join(mountsDir, filepath.Base(dev))
	if mounted, err := reuseMount(target, rw); mounted {
		return filepath.Join(target, sub), err
	}
	if err := mountAny(dev, target, rw); err != nil {
		return "", err
	}
	return filepath.Join(target, sub), nil
}

func waitFile(name string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		_, err := os.Stat(name)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mountAny mounts dev on target with the first block file system type of
// /proc/filesystems that takes it.
func mountAny(dev, target string, rw bool) error {
	b, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return err
	}
	var flags uintptr = unix.MS_RDONLY
	if rw {
		flags = 0
	}
	var tried []string
	types := []string{sniffFS(dev)}
	for _, line := range strings.Split(string(b), "\n") {
		if line != "" && !strings.HasPrefix(line, "nodev") {
			types = append(types, strings.TrimSpace(line))
		}
	}
	for _, typ := range types {
		if typ == "" || typ == "fuseblk" {
			continue
		}
		m := mount.Mount{Type: typ, Source: dev, Target: target, Flags: flags}
		if err := m.Mount(); err == nil {
			return nil
		}
		tried = append(tried, typ)
	}
	return fmt.Errorf("mount %s: no file system of %s takes it", dev, strings.Join(tried, ", "))
}

// sniffFS names the file system on dev from its magic numbers, or "".
func sniffFS(dev string) string {
	f, err := os.Open(dev)
	if err != nil {
		return ""
	}
	defer f.Close()
	b := make([]byte, 36*1024)
	n, _ := io.ReadFull(f, b)
	b = b[:n]
	has := func(off int, magic string) bool {
		return len(b) >= off+len(magic) && string(b[off:off+len(magic)]) == magic
	}
	switch {
	case has(0, "hsqs"):
		return "squashfs"
	case has(1080, "\x53\xef"):
		return "ext4"
	case has(32769, "CD001"):
		return "iso9660"
	case has(54, "FAT") || has(82, "FAT32"):
		return "vfat"
	}
	return ""
}
