package maker

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mode-build/mode/layers"
	"golang.org/x/sys/unix"
)

// explainNoSpace adds to err, when a file system ran full (ENOSPC, or a
// tool's "No space left on device"), which of dirs (the scratch directory,
// the output directory) sits on a full file system: its mount point and
// what is free there. The bare error names a file deep in the scratch tree.
func explainNoSpace(err error, dirs ...string) error {
	if err == nil || !(errors.Is(err, unix.ENOSPC) || strings.Contains(err.Error(), "No space left on device")) {
		return err
	}
	var full []string
	for _, d := range dirs {
		var st unix.Statfs_t
		if unix.Statfs(d, &st) != nil {
			continue
		}
		free := st.Bavail * uint64(st.Bsize)
		if free < 1<<20 || st.Bavail < st.Blocks/100 || st.Ffree == 0 && st.Files > 0 {
			full = append(full, fmt.Sprintf("%s (file system at %s: %s free of %s, %d inodes free)",
				d, mountPoint(d), layers.Size(int64(free)), layers.Size(int64(st.Blocks*uint64(st.Bsize))), st.Ffree))
		}
	}
	if len(full) == 0 {
		return fmt.Errorf("%w (no space left: %s have room now)", err, strings.Join(dirs, " and "))
	}
	return fmt.Errorf("%w: no space left in %s", err, strings.Join(full, " and "))
}

// mountPoint returns the mount point of the file system holding dir: the
// last directory up from dir on the same device.
func mountPoint(dir string) string {
	p, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	var st unix.Stat_t
	if unix.Stat(p, &st) != nil {
		return p
	}
	for p != "/" {
		var up unix.Stat_t
		parent := filepath.Dir(p)
		if unix.Stat(parent, &up) != nil || up.Dev != st.Dev {
			return p
		}
		p = parent
	}
	return p
}
