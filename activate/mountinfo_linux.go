package activate

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/mode-build/mode/layers"
	"golang.org/x/sys/unix"
)

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry struct {
	Point, FSType, Source string
	Super                 map[string]string // super options: lowerdir, upperdir, workdir…
}

// mountTable reads /proc/self/mountinfo.
func mountTable() ([]mountEntry, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out []mountEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := -1
		for i, x := range f {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 5 || len(f) < sep+4 {
			continue
		}
		e := mountEntry{Point: unescape(f[4]), FSType: f[sep+1], Source: unescape(f[sep+2]), Super: map[string]string{}}
		for _, o := range strings.Split(f[sep+3], ",") {
			k, v, _ := strings.Cut(o, "=")
			e.Super[k] = unescape(v)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

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
func findRoot(table []mountEntry, dir string) (Root, error) {
	var e *mountEntry
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
func ours(table []mountEntry, root Root, p string) bool {
	var e *mountEntry
	for i := range table {
		if table[i].Point == p {
			e = &table[i]
		}
	}
	return e != nil && e.FSType == "overlay" && e.Super["upperdir"] == filepath.Join(root.Upper, filepath.Base(p))
}

// mountsUnder returns the mount points strictly below dir.
func mountsUnder(table []mountEntry, dir string) []string {
	var out []string
	for _, e := range table {
		if strings.HasPrefix(e.Point, dir+"/") {
			out = append(out, e.Point)
		}
	}
	return out
}

func isMountPoint(table []mountEntry, p string) bool {
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
func verityMounted(table []mountEntry, runDir string) string {
	dir := layers.LayersDir(runDir) + "/"
	for _, e := range table {
		if strings.HasPrefix(e.Point, dir) && (strings.HasPrefix(e.Source, "/dev/mapper/") || strings.HasPrefix(e.Source, "/dev/dm-")) {
			return e.Source
		}
	}
	return ""
}
