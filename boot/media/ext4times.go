package media

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mode-build/mode/internal/proc"
)

// clampTimes sets the access, change and modification times of every
// inode mke2fs -d copied from root into the ext4 file system at offset in
// image to epoch (seconds). mke2fs takes them from the staged files, whose
// change times no one can set: without this the same chain gives a
// different disk on every run. debugfs rewrites each inode with its
// checksum.
func clampTimes(ctx context.Context, image string, offset int64, root, epoch string) error {
	var cmds bytes.Buffer
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		in := "/" + filepath.ToSlash(rel)
		if rel == "." {
			in = "/"
		}
		if strings.ContainsAny(in, " \t\n\"'\\") {
			return fmt.Errorf("data partition: %q: a file name debugfs cannot be given", in)
		}
		for _, f := range []string{"atime", "ctime", "mtime"} {
			fmt.Fprintf(&cmds, "sif %s %s @%s\n", in, f, epoch)
		}
		return nil
	})
	if err != nil {
		return err
	}
	cmd := proc.Command(ctx, "debugfs", "-w", "-f", "-", fmt.Sprintf("%s?offset=%d", image, offset))
	cmd.Env = append(os.Environ(), "E2FSPROGS_FAKE_TIME="+epoch)
	cmd.Stdin = &cmds
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("data partition: debugfs: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	// debugfs exits 0 when a command fails: anything but its banner is one.
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if l != "" && !strings.HasPrefix(l, "debugfs ") {
			return fmt.Errorf("data partition: debugfs: %s", strings.TrimSpace(stderr.String()))
		}
	}
	return nil
}
