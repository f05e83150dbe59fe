package squashfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mode-build/mode/internal/proc"
	"github.com/mode-build/mode/layers"
)

// Squash writes the tree at dir as a squashfs image at dst with mksquashfs,
// keeping owners, modes, xattrs, hard links, devices and whiteouts as they are.
// It writes to a temporary name beside dst and renames it only when whole.
func Squash(ctx context.Context, dir, dst, compression string) error {
	return squash(ctx, dir, dst, compression, nil, nil, nil)
}

// SquashProgress is Squash telling progress, when not nil, how far
// mksquashfs is as it goes: done of total blocks, done == total last when
// the image is made (0 of 0 for a tree too quick to draw a bar).
func SquashProgress(ctx context.Context, dir, dst, compression string, progress func(done, total int)) error {
	return squash(ctx, dir, dst, compression, nil, nil, progress)
}

// SquashBackground is SquashProgress with mksquashfs at a lower CPU and I/O
// priority (nice 10, best-effort I/O level 7, where the system has them): a
// squash beside a build's next steps yields the cores and the disk to them.
func SquashBackground(ctx context.Context, dir, dst, compression string, progress func(done, total int)) error {
	return squashWith(ctx, dir, dst, compression, nil, nil, progress, runQuiet)
}

// compression is NAME[:LEVEL] (layers.ParseCompression), "" the default.
//
// squash is Squash with more mksquashfs arguments, fix run on the whole
// temporary image before it is renamed, and progress (optional) told
// mksquashfs's progress bar.
func squash(ctx context.Context, dir, dst, compression string, more []string, fix func(tmp string) error, progress func(done, total int)) error {
	return squashWith(ctx, dir, dst, compression, more, fix, progress, (*exec.Cmd).Run)
}

// squashWith is squash running mksquashfs with run.
func squashWith(ctx context.Context, dir, dst, compression string, more []string, fix func(tmp string) error, progress func(done, total int), run func(*exec.Cmd) error) error {
	comp, err := layers.ParseCompression(compression)
	if err != nil {
		return err
	}
	bin, err := exec.LookPath("mksquashfs")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoMksquashfs, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	err = tmp.Chmod(0o644)      // CreateTemp makes 0600; layers are read by anyone (inspect)
	tmp.Close()
	if err != nil {
		return err
	}
	bar := "-no-progress"
	if progress != nil {
		bar = "-progress" // the bar goes to stdout, on a pipe too, with -quiet
	}
	// more comes last: mksquashfs takes the last of a repeated option.
	args := append(append([]string{dir, tmp.Name(), "-noappend", bar, "-quiet"}, comp.Args()...), more...)
	cmd := proc.Command(ctx, bin, args...)
	out := &barWriter{progress: progress}
	cmd.Stdout, cmd.Stderr = out, out
	err = run(cmd)
	out.flush()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("mksquashfs %s: %v: %s", dir, err, lastLines(out.text.String(), 5))
	}
	if progress != nil && (!out.told || out.done != out.total) {
		progress(out.total, out.total) // a quick run may draw no bar, or not its end
	}
	if fix != nil {
		if err := fix(tmp.Name()); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// ErrNoMksquashfs is returned (wrapped) when mksquashfs is not in PATH.
var ErrNoMksquashfs = errors.New("mksquashfs not found: install squashfs-tools (in a booted system: add squashfs-tools to a module of its chain, e.g. packages: [squashfs-tools], and rebuild)")

// barWriter keeps mksquashfs's output for error messages, without the
// progress bar: the "\r[===|  ] N/M P%" updates it hands to progress.
// One writer for stdout and stderr, so exec runs one copying goroutine.
type barWriter struct {
	progress func(done, total int)
	text     bytes.Buffer
	part     []byte // an unfinished segment, until its \r or \n

	told        bool // an update was parsed; done and total are the last
	done, total int
}

func (w *barWriter) Write(p []byte) (int, error) {
	w.part = append(w.part, p...)
	for {
		i := bytes.IndexAny(w.part, "\r\n")
		if i < 0 {
			return len(p), nil
		}
		w.segment(w.part[:i], w.part[i] == '\n')
		w.part = w.part[i+1:]
	}
}

// flush takes what is left after the last write.
func (w *barWriter) flush() {
	if len(w.part) > 0 {
		w.segment(w.part, false)
		w.part = nil
	}
}

// segment takes one \r- or \n-ended piece of output.
func (w *barWriter) segment(s []byte, newline bool) {
	if done, total, ok := parseBar(string(s)); ok {
		w.told, w.done, w.total = true, done, total
		if w.progress != nil {
			w.progress(done, total)
		}
		return
	}
	if len(s) == 0 && !newline {
		return
	}
	w.text.Write(s)
	w.text.WriteByte('\n')
}

// parseBar parses one update of mksquashfs's progress bar,
// "[=====|    ] 120/200  60%".
func parseBar(s string) (done, total int, ok bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "[") {
		return 0, 0, false
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[end+1:])
	if len(f) != 2 || !strings.HasSuffix(f[1], "%") {
		return 0, 0, false
	}
	n, m, found := strings.Cut(f[0], "/")
	if !found {
		return 0, 0, false
	}
	done, err1 := strconv.Atoi(n)
	total, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || done < 0 || total < done {
		return 0, 0, false
	}
	return done, total, true
}

// lastLines returns at most n trailing lines of s, trimmed, for error messages.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}
