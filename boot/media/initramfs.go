package media

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/u-root/u-root/pkg/cpio"
)

// InitramfsLayers is where an initramfs image keeps the layers, and
// InitramfsCmdline the kernel parameters it carries (the init reads them
// before /proc/cmdline's, which override them).
const (
	InitramfsLayers  = "mode/layers"
	InitramfsCmdline = "etc/mode/cmdline"
)

// writeInitramfs writes mode's initramfs followed by an uncompressed cpio
// archive of the layers (they are compressed already): the kernel unpacks
// both into one root, where the init finds the layers with
// mode.from=/mode/layers, carried in /etc/mode/cmdline. One file boots by
// -initrd, GRUB, iPXE or PXE with no registry and no disk.
func writeInitramfs(ctx context.Context, im *Image, out, work string) error {
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	base, err := os.Open(im.Initrd)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, base)
	base.Close()
	if err != nil {
		return fmt.Errorf("initramfs %s: %w", im.Initrd, err)
	}
	// The kernel skips zeros between archives; each starts 4-byte aligned.
	if pad := (512 - n%512) % 512; pad > 0 {
		if _, err := f.Write(make([]byte, pad)); err != nil {
			return err
		}
	}
	files, err := im.stageLayers(work)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	args := strings.TrimSpace("mode.from=/" + InitramfsLayers + " " + im.Append)
	recs := []cpio.Record{
		cpio.Directory("etc", 0o755), cpio.Directory("etc/mode", 0o755),
		cpio.StaticFile(InitramfsCmdline, args+"\n", 0o644),
		cpio.Directory("mode", 0o755), cpio.Directory(InitramfsLayers, 0o755),
	}
	var open []*os.File
	defer func() {
		for _, o := range open {
			o.Close()
		}
	}()
	for _, name := range names {
		src, err := os.Open(files[name])
		if err != nil {
			return err
		}
		open = append(open, src)
		fi, err := src.Stat()
		if err != nil {
			return err
		}
		recs = append(recs, cpio.Record{ReaderAt: src, Info: cpio.Info{
			Name: filepath.Join(InitramfsLayers, name), Mode: cpio.S_IFREG | 0o644, FileSize: uint64(fi.Size()),
		}})
	}
	w := cpio.Newc.Writer(f)
	for i, r := range recs {
		r = cpio.MakeReproducible(r)
		r.Ino = uint64(1<<20 + i) // apart from the first archive's inodes
		r.NLink = 1
		if err := w.WriteRecord(r); err != nil {
			return fmt.Errorf("initramfs: %s: %w", r.Name, err)
		}
	}
	if err := cpio.WriteTrailer(w); err != nil {
		return err
	}
	return f.Close()
}
