package debian

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ChrootCache is where the shared apt cache is bind-mounted in a build
// chroot. It lies under /run, a tmpfs of the chroot, so neither the mount
// point nor anything below it can reach a layer.
const ChrootCache = "/run/mode/apt"

// Env is the environment of apt-get steps: nothing asks a question.
var Env = []string{
	"DEBIAN_FRONTEND=noninteractive",
	"DEBCONF_NONINTERACTIVE_SEEN=true",
	"APT_LISTCHANGES_FRONTEND=none",
}

// StepEnv returns Env, with mode's SOURCE_DATE_EPOCH when it is set: the
// tools of a step that honour it (the day of the last password change that
// useradd and systemd-sysusers write to /etc/shadow, for one) then write the
// same bytes whatever the day of the build, as mmdebstrap does for a base.
func StepEnv() []string {
	env := append([]string{}, Env...)
	if e, ok := os.LookupEnv("SOURCE_DATE_EPOCH"); ok {
		env = append(env, "SOURCE_DATE_EPOCH="+e)
	}
	return env
}

// CacheDir returns the shared apt cache of this host: $MODE_CACHE/apt when
// MODE_CACHE is set, /var/cache/mode/apt for root, else the user's cache
// directory.
func CacheDir() (string, error) {
	if d := os.Getenv("MODE_CACHE"); d != "" {
		return filepath.Join(d, "apt"), nil
	}
	if os.Geteuid() == 0 {
		return "/var/cache/mode/apt", nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "mode", "apt"), nil
}

// Archives is the directory of downloaded packages in the cache dir cache.
func Archives(cache string) string { return filepath.Join(cache, "archives") }

// aptOptions keeps apt's downloads, lists and logs out of the root: packages
// and lists live in the shared cache (lists per set of sources, key), the
// binary caches are not written, logs go nowhere, and dpkg keeps existing
// configuration files.
func aptOptions(key string) []string {
	return []string{
		"-o", "Dir::Cache::Archives=" + ChrootCache + "/archives/",
		"-o", "Dir::State::Lists=" + ChrootCache + "/lists/" + key + "/",
		"-o", "Dir::Cache::pkgcache=", "-o", "Dir::Cache::srcpkgcache=",
		"-o", "Dir::Log::Terminal=/dev/null", "-o", "Dir::Log::History=/dev/null",
		"-o", "Dir::Log::Planner=/dev/null",
		"-o", "APT::Keep-Downloaded-Packages=true",
		"-o", "Binary::apt::APT::Keep-Downloaded-Packages=true",
		"-o", "APT::Install-Recommends=false",
		"-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
		"-o", "Dpkg::Options::=--log=/dev/null",
		"-o", "Dpkg::Use-Pty=false",
		"-o", "Acquire::Retries=3",
	}
}

// AptGet returns the argv of apt-get with mode's options and args.
func AptGet(key string, args ...string) []string {
	argv := append([]string{"apt-get", "-q"}, aptOptions(key)...)
	return append(argv, args...)
}

// SourcesKey names a root's set of apt sources: the digest of its
// sources.list and sources.list.d files. Roots with the same sources share
// one lists directory in the cache.
func SourcesKey(root string) (string, error) {
	h := sha256.New()
	files, _ := filepath.Glob(filepath.Join(root, "etc/apt/sources.list.d/*"))
	sort.Strings(files)
	files = append([]string{filepath.Join(root, "etc/apt/sources.list")}, files...)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("apt sources: %w", err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", strings.TrimPrefix(f, root), len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Apt runs a module's remove and packages steps with apt-get. One Apt serves
// one build run: it updates each set of sources' lists once.
type Apt struct {
	Cache string // the shared cache on the host (see CacheDir)
	Retry Retry
	// UnsafeIO runs dpkg with --force-unsafe-io (an option of the command,
	// never a file in the root): it neither fsyncs nor starts writeback of
	// each file it unpacks. A build's tree need not survive a crash.
	UnsafeIO bool
	// Serial runs one Run at a time on the cache, dpkg included, as before
	// the lock was split: for measuring what the split gains (bench.md).
	Serial bool

	// ListsMaxAge keeps the lists of a set of sources that a build updated
	// less than this long ago, with no apt-get update (lists.go); 0
	// updates them in every build run.
	ListsMaxAge time.Duration
	// Note, when set, is told which lists a build uses and how old they
	// are, a line each.
	Note func(line string)

	mu      sync.Mutex
	updated map[string]bool // keys whose lists this Apt updated or kept
	reused  map[string]bool // keys whose lists it kept from an earlier build

	// Downloads ahead give way to a module's own download (ahead.go).
	aheadMu  sync.Mutex
	fetching int                         // fetches waiting for or holding the cache lock
	aheads   map[*int]context.CancelFunc // the downloads ahead under way
}

// Run runs apt-get purge of remove, then apt-get install of packages, in the
// chroot of root that run runs argv in (with Cache bind-mounted at
// ChrootCache and Env set). Update and download are retried with backoff
// when they fail transiently (see Transient: run's error should carry apt's
// "E:" lines).
//
// The machine-wide cache lock (LockCache) is held only while the shared
// cache is written: the lists' update and the download of packages
// (apt-get install --download-only). dpkg's work, purge and install from
// the cache (--no-download, apt's own locks off: each root has its own dpkg
// lock, and nothing in the shared cache is written), runs under a shared
// hold of the lists (LockLists), so siblings unpack and configure side by
// side and only an update waits for them.
func (a *Apt) Run(ctx context.Context, root string, remove, packages []string, run func(ctx context.Context, argv ...string) error) error {
	return a.run(ctx, root, remove, packages, run, nil)
}

// run is Run, starting ahead (when not nil) once the fetch is done and
// before dpkg starts, and calling the func it returns when dpkg is done.
func (a *Apt) run(ctx context.Context, root string, remove, packages []string, run RunFunc, ahead func(key string) (stop func())) error {
	if len(remove) == 0 && len(packages) == 0 {
		return nil
	}
	key, err := SourcesKey(root)
	if err != nil {
		return err
	}
	if a.Serial {
		unlock, err := lock(ctx, a.Cache, "mode.serial.lock", unix.LOCK_EX)
		if err != nil {
			return err
		}
		defer unlock()
	}
	release, err := a.fetch(ctx, root, key, packages, run)
	if err != nil {
		return err
	}
	defer release()
	if ahead != nil {
		defer ahead(key)() // stopped before the lists are let go
	}
	local := []string{"-o", "Debug::NoLocking=true"}
	if a.UnsafeIO {
		local = append(local, "-o", "Dpkg::Options::=--force-unsafe-io")
	}
	// The removals run on their own, before the install. In the install's
	// run (apt's PKG- with --purge) they were one resolution and one dpkg
	// run fewer (~5 s of console's 13 s), but apt then writes
	// /var/lib/apt/extended_states in another order (usr-is-merged's
	// record moves): the layer is no longer the same to the byte
	// (bench.md), so they stay apart.
	if len(remove) > 0 {
		if err := run(ctx, AptGet(key, slices.Concat(local, []string{"-y", "purge", "--"}, remove)...)...); err != nil {
			return fmt.Errorf("remove %s: %w", strings.Join(remove, " "), err)
		}
	}
	if len(packages) == 0 {
		return nil
	}
	// Everything was fetched: nothing here is transient. apt refuses
	// --no-download for a .deb given by its path ("Pathname to install is
	// not absolute"); without it, it finds what it fetched in the cache.
	noDownload := []string{"--no-download"}
	if slices.ContainsFunc(packages, func(p string) bool { return strings.Contains(p, "/") || strings.HasSuffix(p, ".deb") }) {
		noDownload = nil
	}
	argv := AptGet(key, slices.Concat(local, []string{"-y", "install", "--no-install-recommends"}, noDownload, []string{"--"}, packages)...)
	if err := run(ctx, argv...); err != nil {
		return fmt.Errorf("packages %s: %w", strings.Join(packages, " "), err)
	}
	return nil
}

// fetch updates key's lists (once per Apt) and downloads packages into the
// shared cache, under the cache lock; it returns holding the lists shared
// (taken before the cache lock is let go, so no update comes between the
// download and the install), and the func that lets them go.
func (a *Apt) fetch(ctx context.Context, root, key string, packages []string, run RunFunc) (func(), error) {
	defer a.giveWay()()
	unlock, err := LockCache(ctx, a.Cache)
	if err != nil {
		return nil, err
	}
	defer unlock()
	partials := []string{Archives(a.Cache) + "/partial", filepath.Join(a.Cache, "lists", key, "partial")}
	for _, d := range partials {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("apt cache: %w", err)
		}
	}
	if err := giveApt(root, partials...); err != nil {
		return nil, err
	}
	if err := a.update(ctx, key, run, true); err != nil {
		return nil, err
	}
	if len(packages) > 0 {
		argv := AptGet(key, append([]string{"-y", "install", "--no-install-recommends", "--download-only", "--"}, packages...)...)
		// A package that does not exist is no transient failure: it fails at once.
		download := func() error {
			return a.Retry.Do(ctx, func() (bool, error) {
				err := run(ctx, argv...)
				return err != nil && Transient(err.Error()), err
			})
		}
		err := download()
		if err != nil && a.takeReused(key) {
			// Lists kept from an earlier build may name what the archive
			// has dropped since, or lack what it has added: update them
			// and try once more.
			a.note(fmt.Sprintf("apt: the download failed over kept lists: updating lists/%s", key))
			if err := a.update(ctx, key, run, false); err != nil {
				return nil, err
			}
			err = download()
		}
		if err != nil {
			return nil, fmt.Errorf("packages %s: %w", strings.Join(packages, " "), err)
		}
	}
	return LockLists(ctx, a.Cache, false)
}

// update brings key's lists up to date, once per Apt: with keep, it keeps
// lists that an earlier build updated less than ListsMaxAge ago (lists.go),
// else runs apt-get update. Call it with the cache lock held.
func (a *Apt) update(ctx context.Context, key string, run RunFunc, keep bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.updated[key] {
		return nil
	}
	if a.updated == nil {
		a.updated, a.reused = map[string]bool{}, map[string]bool{}
	}
	if keep && a.keepLists(key) {
		a.updated[key], a.reused[key] = true, true
		return nil
	}
	// The lists are rewritten: no other build may be reading them.
	unlock, err := LockLists(ctx, a.Cache, true)
	if err != nil {
		return err
	}
	defer unlock()
	// No stamp while they are rewritten: an update killed half-way is
	// done again by the next build.
	if err := clearStamp(a.Cache, key); err != nil {
		return err
	}
	if err := a.Retry.Do(ctx, func() (bool, error) {
		err := run(ctx, AptGet(key, "update")...)
		return err != nil && Transient(err.Error()), err
	}); err != nil {
		return fmt.Errorf("apt-get update: %w", err)
	}
	if err := stamp(a.Cache, key); err != nil {
		return err
	}
	a.updated[key] = true
	a.note(fmt.Sprintf("apt: lists/%s updated now", key))
	return nil
}
