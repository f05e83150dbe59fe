package debian

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
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

	mu      sync.Mutex
	updated map[string]bool
}

// Run runs apt-get purge of remove, then apt-get install of packages, in the
// chroot of root that run runs argv in (with Cache bind-mounted at
// ChrootCache and Env set). Update and install are retried with backoff when
// they fail transiently (see Transient: run's error should carry apt's "E:"
// lines).
func (a *Apt) Run(ctx context.Context, root string, remove, packages []string, run func(ctx context.Context, argv ...string) error) error {
	if len(remove) == 0 && len(packages) == 0 {
		return nil
	}
	key, err := SourcesKey(root)
	if err != nil {
		return err
	}
	unlock, err := LockCache(ctx, a.Cache)
	if err != nil {
		return err
	}
	defer unlock()
	partials := []string{Archives(a.Cache) + "/partial", filepath.Join(a.Cache, "lists", key, "partial")}
	for _, d := range partials {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("apt cache: %w", err)
		}
	}
	if err := giveApt(root, partials...); err != nil {
		return err
	}
	if err := a.update(ctx, key, run); err != nil {
		return err
	}
	if len(remove) > 0 {
		if err := run(ctx, AptGet(key, append([]string{"-y", "purge", "--"}, remove...)...)...); err != nil {
			return fmt.Errorf("remove %s: %w", strings.Join(remove, " "), err)
		}
	}
	if len(packages) == 0 {
		return nil
	}
	argv := AptGet(key, append([]string{"-y", "install", "--no-install-recommends", "--"}, packages...)...)
	// apt fetches every package before dpkg runs, so an install whose fetch
	// failed changed nothing and is safe to run again. A package that does not
	// exist is no transient failure: it fails at once.
	if err := a.Retry.Do(ctx, func() (bool, error) {
		err := run(ctx, argv...)
		return err != nil && Transient(err.Error()), err
	}); err != nil {
		return fmt.Errorf("packages %s: %w", strings.Join(packages, " "), err)
	}
	return nil
}

func (a *Apt) update(ctx context.Context, key string, run func(ctx context.Context, argv ...string) error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.updated[key] {
		return nil
	}
	if err := a.Retry.Do(ctx, func() (bool, error) {
		err := run(ctx, AptGet(key, "update")...)
		return err != nil && Transient(err.Error()), err
	}); err != nil {
		return fmt.Errorf("apt-get update: %w", err)
	}
	if a.updated == nil {
		a.updated = map[string]bool{}
	}
	a.updated[key] = true
	return nil
}
