package initramfs

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/u-root/u-root/pkg/cpio"
)

// Options say what goes into an initramfs.
type Options struct {
	Init          string   // a separate init binary (mode-init); "" makes Mode the init too
	Mode          string   // the mode binary, carried as /bin/mode; "" leaves it out (then Init is required)
	Busybox       string   // a static busybox for the rescue shell; "" leaves it out
	KernelModules string   // linux-image .deb, /lib/modules/VERSION or a root holding it; "" for none
	Modules       []string // kernel modules wanted; nil means DefaultModules
	CACerts       string   // CA bundle, carried as /etc/ssl/certs/ca-certificates.crt; "" leaves it out
	Compress      string   // one of Compressions; "" is the first
	ZstdLevel     int      // zstd's level, 1 to 19; 0 is ZstdLevel (the other compressors have theirs)
	Files         []File   // more files, as they are
}

// File is one more file of the archive.
type File struct {
	Source string // path on this machine
	Name   string // path in the archive, without the leading "/"
	Mode   uint64 // permission bits
}

// Result tells what went in.
type Result struct {
	KernelVersion string
	Modules       []string // kernel modules carried, dependencies first
	Builtin       []string // wanted modules the kernel has built in
	Missing       []string // wanted modules the kernel lacks
	Size          int64    // bytes written (compressed)
	Compressor    string   // what compressed it ("zstd -19")
}

// BusyboxApplets are the busybox links of the rescue shell.
var BusyboxApplets = []string{
	"sh", "ash", "cat", "chmod", "chroot", "cp", "df", "dmesg", "du", "echo", "env", "find", "free",
	"grep", "head", "hexdump", "ifconfig", "insmod", "ip", "kill", "less", "ln", "losetup", "ls",
	"lsmod", "mkdir", "mknod", "more", "mount", "mv", "ping", "poweroff", "ps", "reboot", "rm",
	"rmmod", "route", "sed", "sha256sum", "sleep", "stat", "switch_root", "sync", "tail", "tar",
	"top", "touch", "umount", "uname", "vi", "wc", "wget",
}

// Build writes the initramfs of opts to w, compressed.
func Build(ctx context.Context, opts Options, w io.Writer) (*Result, error) {
	if opts.Init == "" && opts.Mode == "" {
		return nil, fmt.Errorf("initramfs: no init binary (neither mode nor mode-init)")
	}
	if err := checkCompression(opts.Compress); err != nil {
		return nil, err
	}
	if opts.ZstdLevel < 0 || opts.ZstdLevel > 19 {
		return nil, fmt.Errorf("initramfs: zstd level %d: want 1 to 19 (0: %d)", opts.ZstdLevel, ZstdLevel)
	}
	a := newArchive()
	res := &Result{}
	for _, d := range []string{"bin", "dev", "etc", "lib", "newroot", "proc", "root", "run", "sbin", "sys", "tmp", "usr"} {
		a.dir(d)
	}
	a.add(cpio.CharDev("dev/console", 0o600, 5, 1))
	a.add(cpio.CharDev("dev/null", 0o666, 1, 3))
	if opts.Init == "" {
		// mode is a multi-call binary: run as /init it is the init
		// (modeinit.Called), and the booted system gets it as mode. One
		// binary instead of two that share most of their code.
		a.add(cpio.Symlink("init", "bin/mode"))
	} else if err := a.file(opts.Init, "init", 0o755); err != nil {
		return nil, err
	}
	if opts.Mode != "" {
		if err := a.file(opts.Mode, "bin/mode", 0o755); err != nil {
			return nil, err
		}
	}
	if opts.Busybox != "" {
		if err := a.file(opts.Busybox, "bin/busybox", 0o755); err != nil {
			return nil, err
		}
		for _, app := range BusyboxApplets {
			a.add(cpio.Symlink("bin/"+app, "busybox"))
		}
	}
	if opts.CACerts != "" {
		if err := a.file(opts.CACerts, "etc/ssl/certs/ca-certificates.crt", 0o644); err != nil {
			return nil, err
		}
	}
	a.add(cpio.StaticFile("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644))
	a.add(cpio.StaticFile("etc/group", "root:x:0:\n", 0o644))
	if opts.KernelModules != "" {
		if err := a.kernelModules(ctx, opts, res); err != nil {
			return nil, err
		}
	}
	for _, f := range opts.Files {
		if err := a.file(f.Source, f.Name, f.Mode); err != nil {
			return nil, err
		}
	}
	cw := &countWriter{w: w}
	zw, how, err := compressor(ctx, opts.Compress, opts.ZstdLevel, cw)
	if err != nil {
		return nil, err
	}
	if err := a.write(zw); err != nil {
		zw.Close() // ends a compressor process
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("initramfs: compress: %w", err)
	}
	res.Size, res.Compressor = cw.n, how
	return res, nil
}

// BuildFile writes the initramfs of opts to file, whole or not at all.
func BuildFile(ctx context.Context, opts Options, file string) (*Result, error) {
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	res, err := Build(ctx, opts, tmp)
	if err == nil {
		err = tmp.Close()
	} else {
		tmp.Close()
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err != nil {
		return nil, err
	}
	return res, os.Rename(tmp.Name(), file)
}

func (a *archive) kernelModules(ctx context.Context, opts Options, res *Result) error {
	tmp, err := os.MkdirTemp("", "mode-kernel-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	k, err := openKernel(ctx, opts.KernelModules, tmp)
	if err != nil {
		return err
	}
	want := opts.Modules
	if want == nil {
		want = DefaultModules
	}
	mods, builtin, missing, err := k.resolve(want)
	if err != nil {
		return err
	}
	res.KernelVersion, res.Builtin, res.Missing = k.version, builtin, missing
	base := "lib/modules/" + k.version
	for _, m := range mods {
		if err := a.file(filepath.Join(k.dir, k.files[m.name]), path.Join(base, m.path), 0o644); err != nil {
			return err
		}
		res.Modules = append(res.Modules, m.name)
	}
	a.add(cpio.StaticFile(base+"/modules.dep", string(modulesDep(mods)), 0o644))
	alias, err := k.modulesAlias(mods)
	if err != nil {
		return err
	}
	a.add(cpio.StaticFile(base+"/modules.alias", string(alias), 0o644))
	if b, err := os.ReadFile(filepath.Join(k.dir, "modules.builtin")); err == nil {
		a.add(cpio.StaticFile(base+"/modules.builtin", string(b), 0o644))
	}
	return nil
}

// archive collects records by name; write emits them sorted, with their
// parent directories, so the same inputs give the same bytes.
type archive struct {
	recs map[string]cpio.Record
}

func newArchive() *archive { return &archive{recs: map[string]cpio.Record{}} }

func (a *archive) add(r cpio.Record) {
	r.Name = strings.TrimPrefix(path.Clean(r.Name), "/")
	for d := path.Dir(r.Name); d != "." && d != "/"; d = path.Dir(d) {
		if _, ok := a.recs[d]; !ok {
			a.dir(d)
		}
	}
	a.recs[r.Name] = r
}

func (a *archive) dir(name string) {
	a.recs[name] = cpio.Directory(name, 0o755)
}

func (a *archive) file(src, name string, perm uint64) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	a.add(cpio.StaticRecord(b, cpio.Info{Name: name, Mode: cpio.S_IFREG | perm}))
	return nil
}

func (a *archive) write(w io.Writer) error {
	names := make([]string, 0, len(a.recs))
	for n := range a.recs {
		names = append(names, n)
	}
	sort.Strings(names)
	rw := cpio.Newc.Writer(w)
	for i, n := range names {
		r := cpio.MakeReproducible(a.recs[n])
		r.Ino = uint64(i + 1)
		r.NLink = 1
		if err := rw.WriteRecord(r); err != nil {
			return fmt.Errorf("initramfs: %s: %w", n, err)
		}
	}
	return cpio.WriteTrailer(rw)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
