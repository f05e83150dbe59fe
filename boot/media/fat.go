package media

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// writeFAT makes a FAT file system of size bytes at offset in image,
// (FAT32 when fat32, else what suits the size) labelled label, holding files (path on the medium → source), every date
// set to epoch. dosfstools and mtools write it, without root or loop
// devices: go-diskfs v1.9.4's FAT writers fail fsck.fat (see docs/media.md).
// An image at offset 0 is created; at another offset it must exist.
func writeFAT(ctx context.Context, image string, offset, size int64, fat32 bool, label string, files map[string]string, epoch time.Time, work string) error {
	e := strconv.FormatInt(epoch.Unix(), 10)
	env := []string{"SOURCE_DATE_EPOCH=" + e, "MTOOLS_SKIP_CHECK=1"}
	volid := fmt.Sprintf("%08x", uint32(epoch.Unix()))
	args := []string{"--invariant", "-i", volid, "-n", label}
	if fat32 {
		// One sector per cluster: mkfs.fat would size clusters by the
		// whole image file, too few for FAT32 in a 64 MiB partition.
		args = append(args, "-F", "32", "-s", "1")
	}
	if offset == 0 {
		args = append(args, "-C", image)
	} else {
		args = append(args, "--offset="+strconv.FormatInt(offset/sector, 10), image)
	}
	args = append(args, strconv.FormatInt(size/1024, 10))
	if err := runEnv(ctx, env, "mkfs.fat", args...); err != nil {
		return fmt.Errorf("FAT: %w (install dosfstools)", err)
	}
	img := image + "@@" + strconv.FormatInt(offset, 10)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	made := map[string]bool{"/": true}
	stage := filepath.Join(work, "fat-"+label)
	for _, n := range names {
		var dirs []string
		for d := path.Dir(n); !made[d]; d = path.Dir(d) {
			dirs = append([]string{d}, dirs...)
			made[d] = true
		}
		for _, d := range dirs {
			if err := runEnv(ctx, env, "mmd", "-i", img, "::"+d); err != nil {
				return fmt.Errorf("FAT: %w (install mtools)", err)
			}
		}
		// mcopy -m keeps the source's date: a copy dated epoch.
		src := filepath.Join(stage, strings.TrimPrefix(n, "/"))
		if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
			return err
		}
		if err := copyFile(files[n], src); err != nil {
			return err
		}
		if err := os.Chtimes(src, epoch, epoch); err != nil {
			return err
		}
		if err := runEnv(ctx, env, "mcopy", "-m", "-i", img, src, "::"+n); err != nil {
			return fmt.Errorf("FAT: %w (install mtools)", err)
		}
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
