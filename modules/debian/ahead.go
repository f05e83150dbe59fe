package debian

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mode-build/mode/internal/proc"
)

// RunFunc runs argv in a root's chroot (with the cache bound at ChrootCache
// and Env set), as the run of Apt.Run does.
type RunFunc func(ctx context.Context, argv ...string) error

// Downloading ahead (Apt.RunAhead): while a module's dpkg runs, apt-get
// install --download-only of the module's packages together with each next
// module's (the modules built over it, whose packages the plan names up
// front) fills the shared cache with what those will install. It is
// resolved against a copy of the root's dpkg status taken before dpkg
// starts (dpkg rewrites the status meanwhile), so it fetches what the
// module and that child need over the module's parent: a superset of the
// child's own download, which then finds it all in the cache. It runs
// under the cache lock, apt's own locks off, and writes nothing in the root
// but chroot.Run's placeholders, which it shares with the install. It is a
// hint: a failure (a set that does not resolve) is nobody's error, the
// child's own fetch says what is wrong. It stops when the install ends, a
// download under way cut (apt resumes a partial file), and gives way to
// the own download of any module of the same build (giveWay): a hint never
// holds real work up.

// aheadDir holds the dpkg status copies in the cache, named
// status-PID-RANDOM: a copy whose process is gone is swept by the next one.
const aheadDir = "ahead"

// RunAhead is Run, downloading ahead what installing packages and then
// each set of next over root would fetch, with quiet (a run that tells no
// progress and keeps its output to itself), while the purge and install
// run. Nothing is done ahead when next or packages are empty or quiet is
// nil.
func (a *Apt) RunAhead(ctx context.Context, root string, remove, packages []string, next [][]string, run, quiet RunFunc) error {
	if len(packages) == 0 || quiet == nil {
		next = nil
	}
	return a.run(ctx, root, remove, packages, run, func(key string) func() {
		if len(next) == 0 {
			return func() {}
		}
		return a.ahead(ctx, root, key, packages, next, quiet)
	})
}

// ahead starts the download ahead (see above) and returns the func that
// stops it and waits for its end.
func (a *Apt) ahead(ctx context.Context, root, key string, packages []string, next [][]string, run RunFunc) (stop func()) {
	status, err := copyStatus(a.Cache, root)
	if err != nil {
		return func() {} // a hint only
	}
	ctx, cancel := context.WithCancel(ctx)
	id := new(int)
	a.aheadMu.Lock()
	if a.aheads == nil {
		a.aheads = map[*int]context.CancelFunc{}
	}
	a.aheads[id] = cancel
	a.aheadMu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			a.aheadMu.Lock()
			delete(a.aheads, id)
			a.aheadMu.Unlock()
		}()
		defer os.Remove(status)
		// The cache lock is taken with the lists held shared, against
		// their order (LockLists), but it never waits past the install:
		// stop cancels it, and the lists go only after that.
		unlock, err := LockCache(ctx, a.Cache)
		if err != nil {
			return
		}
		defer unlock()
		a.aheadMu.Lock()
		yield := a.fetching > 0
		a.aheadMu.Unlock()
		if yield {
			return // a module's own download waits: it goes first
		}
		sweepStatus(a.Cache, status)
		inChroot := ChrootCache + "/" + aheadDir + "/" + filepath.Base(status)
		for _, set := range next {
			if ctx.Err() != nil {
				return
			}
			all := slices.Concat(packages, slices.DeleteFunc(slices.Clone(set), func(p string) bool { return slices.Contains(packages, p) }))
			argv := AptGet(key, slices.Concat([]string{"-o", "Dir::State::status=" + inChroot, "-o", "Debug::NoLocking=true",
				"-y", "install", "--no-install-recommends", "--download-only", "--"}, all)...)
			run(ctx, argv...) // a hint: see above
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// copyStatus copies root's dpkg status into the cache's aheadDir and
// returns the copy's path.
func copyStatus(cache, root string) (string, error) {
	data, err := os.ReadFile(filepath.Join(root, "var/lib/dpkg/status"))
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, aheadDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "status-"+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644) // apt reads it as root or _apt
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("apt cache: %w", err)
	}
	return f.Name(), nil
}

// sweepStatus removes the status copies in cache whose process has ended
// (a killed build's), keeping this process's and keep.
func sweepStatus(cache, keep string) {
	dir := filepath.Join(cache, aheadDir)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		fields := strings.Split(e.Name(), "-")
		if len(fields) != 3 || fields[0] != "status" || filepath.Join(dir, e.Name()) == keep {
			continue
		}
		if pid, err := strconv.Atoi(fields[1]); err == nil && pid != os.Getpid() && !proc.Alive(pid) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// giveWay cuts the downloads ahead under way (a module's own download of
// this build goes first: siblings' fetches must not wait for a hint) and
// keeps new ones from starting until the func it returns is called, when
// the fetch is done.
func (a *Apt) giveWay() (done func()) {
	a.aheadMu.Lock()
	defer a.aheadMu.Unlock()
	a.fetching++
	for _, cancel := range a.aheads {
		cancel()
	}
	return func() {
		a.aheadMu.Lock()
		a.fetching--
		a.aheadMu.Unlock()
	}
}
