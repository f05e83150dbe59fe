package activate

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/mount"
	"golang.org/x/sys/unix"
)

// splitLowers splits an overlay lowerdir option on the colons overlayfs
// splits on (a backslash escapes one).
func splitLowers(s string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case s[i] == ':':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	return append(out, cur.String())
}

// findRoot returns the overlay mounted at dir (the topmost mount there).
func findRoot(table []mount.Entry, dir string) (Root, error) {
	var e *mount.Entry
	for i := range table {
		if table[i].Point == dir {
			e = &table[i]
		}
	}
	if e == nil {
		return Root{}, fmt.Errorf("%s: not a mount point", dir)
	}
	if e.FSType != "overlay" || e.Super["upperdir"] == "" || e.Super["workdir"] == "" {
		return Root{}, fmt.Errorf("%s: a %s mount, not an overlay with an upper directory: not a system booted by mode", dir, e.FSType)
	}
	return Root{Dir: dir, Lowers: splitLowers(e.Super["lowerdir"]), Upper: e.Super["upperdir"], Work: e.Super["workdir"]}, nil
}

// ours reports whether the topmost mount at p is a directory overlay of
// root (its upper directory is the root's upper's subdirectory).
func ours(table []mount.Entry, root Root, p string) bool {
	var e *mount.Entry
	for i := range table {
		if table[i].Point == p {
			e = &table[i]
		}
	}
	return e != nil && e.FSType == "overlay" && e.Super["upperdir"] == filepath.Join(root.Upper, filepath.Base(p))
}

// mountsUnder returns the mount points strictly below dir.
func mountsUnder(table []mount.Entry, dir string) []string {
	var out []string
	for _, e := range table {
		if strings.HasPrefix(e.Point, dir+"/") {
			out = append(out, e.Point)
		}
	}
	return out
}

func isMountPoint(table []mount.Entry, p string) bool {
	for _, e := range table {
		if e.Point == p {
			return true
		}
	}
	return false
}

// osTree answers Tree questions from the file system.
type osTree struct{}

func (osTree) IsDir(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.IsDir()
}

func (osTree) Opaque(p string) bool {
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(p, "trusted.overlay.opaque", buf)
	return err == nil && n == 1 && buf[0] == 'y'
}

// isWhiteout reports whether fi is an overlayfs whiteout (a 0:0 character device).
func isWhiteout(fi os.FileInfo) bool {
	if fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Rdev == 0
}

// verityMounted returns the device of a booted layer mounted through
// dm-verity (the init does so when the chain is signed), or "".
func verityMounted(table []mount.Entry, runDir string) string {
	dir := layers.LayersDir(runDir) + "/"
	for _, e := range table {
		if strings.HasPrefix(e.Point, dir) && (strings.HasPrefix(e.Source, "/dev/mapper/") || strings.HasPrefix(e.Source, "/dev/dm-")) {
			return e.Source
		}
	}
	return ""
}
