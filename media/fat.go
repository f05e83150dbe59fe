package media

import (
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
)

// epochMu guards SOURCE_DATE_EPOCH, which go-diskfs reads for the dates it
// writes into FAT directory entries.
var epochMu sync.Mutex

// writeFAT makes a FAT file system on partition part of d (0: the whole
// image) labelled label, holding files (path on the medium → source),
// every date set to epoch. go-diskfs writes it: no root, no loop device,
// no mtools.
func writeFAT(d *disk.Disk, part int, typ filesystem.Type, label string, files map[string]string, epoch time.Time) error {
	epochMu.Lock()
	defer epochMu.Unlock()
	old, had := os.LookupEnv("SOURCE_DATE_EPOCH")
	os.Setenv("SOURCE_DATE_EPOCH", strconv.FormatInt(epoch.Unix(), 10))
	defer func() {
		if had {
			os.Setenv("SOURCE_DATE_EPOCH", old)
		} else {
			os.Unsetenv("SOURCE_DATE_EPOCH")
		}
	}()
	fs, err := d.CreateFilesystem(disk.FilesystemSpec{Partition: part, FSType: typ, VolumeLabel: label, Reproducible: true})
	if err != nil {
		return fmt.Errorf("FAT: %w", err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	made := map[string]bool{"/": true}
	for _, n := range names {
		if dir := path.Dir(n); !made[dir] {
			if err := fs.Mkdir(dir); err != nil {
				return fmt.Errorf("FAT: mkdir %s: %w", dir, err)
			}
			for d := dir; d != "/" && !made[d]; d = path.Dir(d) {
				made[d] = true
			}
		}
		if err := fatFile(fs, n, files[n]); err != nil {
			return err
		}
	}
	return nil
}

func fatFile(fs filesystem.FileSystem, name, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := fs.OpenFile(name, os.O_CREATE|os.O_RDWR)
	if err != nil {
		return fmt.Errorf("FAT: %s: %w", name, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("FAT: write %s: %w", name, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("FAT: write %s: %w", name, err)
	}
	return nil
}

// filesSize is the bytes of files' sources.
func filesSize(files map[string]string) (int64, error) {
	var n int64
	for _, src := range files {
		fi, err := os.Stat(src)
		if err != nil {
			return 0, err
		}
		n += fi.Size()
	}
	return n, nil
}

const mib = 1 << 20

// roundMiB rounds n up to whole MiB.
func roundMiB(n int64) int64 { return (n + mib - 1) / mib * mib }
