package maker

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/mode-build/mode/internal/proc"
	"github.com/mode-build/mode/mount"
	"golang.org/x/sys/unix"
)

// A build killed at any point leaves no mount, loop device or process
// (mount.Private, proc.Command); what it can leave are files. Each is made
// so that the next build finds and removes it: temporary files in the
// output directory under its lock, and scratch directories named with their
// owner's pid (Lock).

// lockName is the lock file of an output directory; it holds the owner's pid.
const lockName = ".mode.lock"

// outTemp matches the temporary files of a build in its output directory:
// a layer or its metadata being written (.FILE.tmp-N, N decimal or, from
// the Builder, hex), a save's first pass
// (.FILE.save-N).
var outTemp = regexp.MustCompile(`^\..+\.(tmp|save)-[0-9a-f]+$`)

// Lock starts a build into the output directory out: it takes out's lock
// (lockOut) and removes what killed builds left in out and in the scratch
// directory. unlock releases the lock; a build that dies releases it too.
func (mk *Maker) Lock(out string) (unlock func() error, err error) {
	unlock, err = lockOut(out)
	if err != nil {
		return nil, err
	}
	mk.sweep.Do(func() { mk.sweepScratch() })
	return unlock, nil
}

// sweepScratch removes the scratch directories of dead builds, logging
// what it did.
func (mk *Maker) sweepScratch() {
	if removed, err := sweepScratch(mk.scratch()); err != nil {
		mk.log().Warn("scratch", "err", err)
	} else if len(removed) > 0 {
		mk.log().Info("removed what killed builds left", "dirs", removed)
	}
}

// lockOut takes dir's lock for one build (dir/.mode.lock, with this
// process's pid in it) and removes what killed builds left in dir. It fails
// at once, naming the owner, while another build holds the lock. unlock
// releases it; a build that dies releases it too (the kernel drops the lock).
func lockOut(dir string) (unlock func() error, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p := filepath.Join(dir, lockName)
	var f *os.File
	for try := 0; ; try++ {
		f, err = os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			b, _ := os.ReadFile(p)
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, busy(dir, string(b))
			}
			return nil, fmt.Errorf("lock %s: %w", p, err)
		}
		// The owner before us removes the file when it is done: holding
		// the lock of a removed file locks nothing.
		var a, b unix.Stat_t
		if unix.Fstat(int(f.Fd()), &a) == nil && unix.Stat(p, &b) == nil && a.Ino == b.Ino {
			break
		}
		f.Close()
		if try > 100 {
			return nil, fmt.Errorf("lock %s: it keeps being replaced", p)
		}
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err := sweepOut(dir); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		os.Remove(p)
		return f.Close()
	}, nil
}

// busy is the error of a lost lock on dir, naming the owner's pid from
// the lock file's content when it holds one: the winner writes it just after
// taking the lock, so a loser may read the file before.
func busy(dir, lockFile string) error {
	pid := strings.TrimSpace(lockFile)
	if n, err := strconv.Atoi(pid); err != nil || n <= 0 {
		return fmt.Errorf("%s: another build is writing there", dir)
	}
	return fmt.Errorf("%s: another build (pid %s) is writing there", dir, pid)
}

// sweepOut removes the temporary files of dead builds from dir (whose lock
// we hold: no live build has any there).
func sweepOut(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if outTemp.MatchString(e.Name()) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("remove what a killed build left: %w", err)
			}
		}
	}
	return nil
}

// scratchDir matches a build's scratch directory: ws-PID-N, base-PID-N,
// foreign-PID-N or bootstrap-PID-N (scratchPrefix).
var scratchDir = regexp.MustCompile(`^(ws|base|foreign|bootstrap)-([0-9]+)-[0-9]+$`)

// scratchPrefix is the prefix of this process's scratch directories.
func scratchPrefix(kind string) string { return fmt.Sprintf("%s-%d-", kind, os.Getpid()) }

// sweepScratch removes the scratch directories in dir whose owner is dead
// and under which nothing is mounted. It returns what it removed.
func sweepScratch(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		m := scratchDir.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		pid, _ := strconv.Atoi(m[2])
		if pid == os.Getpid() || proc.Alive(pid) {
			continue // ours, or its owner lives
		}
		full := filepath.Join(dir, e.Name())
		if err := mount.RemoveUnmounted(full); err != nil {
			continue // something is still mounted below it: leave it whole
		}
		removed = append(removed, full)
	}
	return removed, nil
}
