package initramfs_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/mode-build/mode/boot/initramfs"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/u-root/u-root/pkg/cpio"
)

func options(t *testing.T) initramfs.Options {
	bins := testutil.Binaries(t)
	return initramfs.Options{
		Mode:          filepath.Join(bins, "mode"), // the init too
		Busybox:       initramfs.HostBusybox,
		CACerts:       initramfs.HostCACerts,
		KernelModules: testutil.Kernel(t).Deb,
	}
}

func build(t *testing.T, o initramfs.Options) ([]byte, *initramfs.Result) {
	t.Helper()
	var buf bytes.Buffer
	res, err := initramfs.Build(context.Background(), o, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if res.Size != int64(buf.Len()) {
		t.Errorf("Result.Size %d, wrote %d", res.Size, buf.Len())
	}
	return buf.Bytes(), res
}

// TestReproducible builds each compression twice: the same bytes.
func TestReproducible(t *testing.T) {
	for _, c := range initramfs.Compressions {
		t.Run(c, func(t *testing.T) {
			o := options(t)
			o.Compress = c
			o.KernelModules = filepath.Join(filepath.Dir(o.KernelModules), "root") // unpacked: no dpkg-deb
			o.Init, o.Mode = initramfs.HostBusybox, ""                             // a smaller init keeps the compressors quick
			a, _ := build(t, o)
			b, _ := build(t, o)
			if !bytes.Equal(a, b) {
				t.Errorf("two builds differ (%d and %d bytes)", len(a), len(b))
			}
		})
	}
}

// TestContents reads the archive back: the init, the rescue shell, the mode
// binary, the console device, and the kernel modules dependencies first.
func TestContents(t *testing.T) {
	data, res := build(t, options(t))
	// 12.1 MiB with mode and mode-init apart; 7.6 with mode as the init, zstd -19.
	if res.Size > 8<<20 {
		t.Errorf("initramfs is %.1f MiB (%s), want at most 8", float64(res.Size)/(1<<20), res.Compressor)
	}
	zr, err := zstd.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]cpio.Record{}
	for _, r := range recs {
		byName[r.Name] = r
		if r.MTime != 0 || r.UID != 0 {
			t.Errorf("%s: mtime %d uid %d, want 0", r.Name, r.MTime, r.UID)
		}
	}
	kdir := "lib/modules/" + res.KernelVersion
	if l := byName["init"]; l.Mode&cpio.S_IFMT != cpio.S_IFLNK || readRecord(t, l) != "bin/mode" {
		t.Errorf("init: mode %o, want a link to bin/mode (mode is the init)", l.Mode)
	}
	for _, name := range []string{"init", "bin/mode", "bin/busybox", "bin/sh", "dev/console", "etc/ssl/certs/ca-certificates.crt",
		kdir + "/modules.dep", kdir + "/modules.alias", kdir + "/modules.builtin", kdir + "/kernel/fs/overlayfs/overlay.ko", kdir + "/kernel/fs/nls/nls_iso8859_1.ko"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("no %s in the archive", name)
		}
	}
	if c := byName["dev/console"]; c.Mode&cpio.S_IFMT != cpio.S_IFCHR || c.Rmajor != 5 || c.Rminor != 1 {
		t.Errorf("dev/console: mode %o %d:%d", c.Mode, c.Rmajor, c.Rminor)
	}
	dep, _ := io.ReadAll(io.NewSectionReader(byName[kdir+"/modules.dep"], 0, int64(byName[kdir+"/modules.dep"].FileSize)))
	pos := map[string]int{}
	for i, line := range strings.Split(strings.TrimSpace(string(dep)), "\n") {
		path, deps, _ := strings.Cut(line, ":")
		name := strings.TrimSuffix(filepath.Base(path), ".ko")
		pos[name] = i
		if _, ok := byName[kdir+"/"+path]; !ok {
			t.Errorf("modules.dep lists %s, not in the archive", path)
		}
		for _, d := range strings.Fields(deps) {
			if _, ok := pos[strings.TrimSuffix(filepath.Base(d), ".ko")]; !ok {
				t.Errorf("modules.dep: %s comes before its dependency %s", name, d)
			}
		}
	}
	for _, pair := range [][2]string{{"virtio_ring", "virtio"}, {"virtio", "virtio_pci"}, {"virtio_pci", "virtio_blk"}, {"failover", "net_failover"}, {"net_failover", "virtio_net"}} {
		a, okA := pos[pair[0]]
		b, okB := pos[pair[1]]
		if !okA || !okB || a >= b {
			t.Errorf("modules.dep: want %s before %s (%v)", pair[0], pair[1], pos)
		}
	}
	for _, m := range []string{"loop", "squashfs", "overlay"} {
		if _, ok := pos[m]; !ok {
			t.Errorf("modules.dep lacks %s", m)
		}
	}
}

func TestBadInputs(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*initramfs.Options)
		err  string
	}{
		{"no init", func(o *initramfs.Options) { o.Init, o.Mode = "", "" }, "no init binary"},
		{"missing mode", func(o *initramfs.Options) { o.Mode = "/nonexistent/mode" }, "/nonexistent/mode"},
		{"missing init", func(o *initramfs.Options) { o.Init = "/nonexistent/mode-init" }, "/nonexistent/mode-init"},
		{"bad compression", func(o *initramfs.Options) { o.Compress = "lzma" }, `compression "lzma"`},
		{"bad modules dir", func(o *initramfs.Options) { o.KernelModules = t.TempDir() }, "want one lib/modules/VERSION/kernel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := options(t)
			tc.mod(&o)
			_, err := initramfs.Build(context.Background(), o, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want one with %q", err, tc.err)
			}
		})
	}
}

// TestSeparateInit builds with mode-init apart (--init): /init is that
// binary, bin/mode the mode binary.
func TestSeparateInit(t *testing.T) {
	o := options(t)
	o.Init, o.Mode, o.KernelModules, o.Compress = filepath.Join(testutil.Binaries(t), "mode-init"), initramfs.HostBusybox, "", "none"
	data, _ := build(t, o)
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Name == "init" {
			if r.Mode&cpio.S_IFMT != cpio.S_IFREG || !strings.HasPrefix(readRecord(t, r), "\x7fELF") {
				t.Errorf("init: mode %o, want the mode-init binary", r.Mode)
			}
			return
		}
	}
	t.Error("no init in the archive")
}

func readRecord(t *testing.T, r cpio.Record) string {
	t.Helper()
	b, err := io.ReadAll(io.NewSectionReader(r, 0, int64(r.FileSize)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestZstdWithoutCommand: without a zstd command on PATH, Go's encoder
// compresses, and says so.
func TestZstdWithoutCommand(t *testing.T) {
	o := options(t)
	o.Init, o.Mode, o.KernelModules = initramfs.HostBusybox, "", ""
	t.Setenv("PATH", t.TempDir())
	data, res := build(t, o)
	if !strings.Contains(res.Compressor, "Go encoder") {
		t.Errorf("compressor %q, want Go's encoder", res.Compressor)
	}
	zr, err := zstd.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(raw)))
	if err != nil || len(recs) == 0 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
}
