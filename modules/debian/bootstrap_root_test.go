package debian

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/testutil"
)

// needsRootAndArchive states what the real bootstraps need: root (mmdebstrap
// --mode=root, mounts) and the host's Debian archive. -short leaves them out.
func needsRootAndArchive(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: a real bootstrap needs root and the Debian archive (about a minute)")
	}
	if os.Geteuid() != 0 {
		t.Fatal("a real bootstrap needs root (mmdebstrap --mode=root)")
	}
}

func hostPlan(t *testing.T, b Bootstrap, target, cache string) *Command {
	t.Helper()
	host, err := ReadSources(HostApt)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Plan(b, target, cache, t.TempDir(), host, HostCodename())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBootstrapBookworm bootstraps a real bookworm minbase with the host's
// mirror into a temporary directory, sharing the host's apt cache.
func TestBootstrapBookworm(t *testing.T) {
	needsRootAndArchive(t)
	cache, err := CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(Archives(cache), 0o755); err != nil {
		t.Fatal(err)
	}
	unlock, err := LockCache(context.Background(), cache)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	target := t.TempDir()
	// With Progress, mmdebstrap runs on a pseudo-terminal and draws bars.
	var log strings.Builder
	top := map[string]float64{}
	var stages []string
	r := &Runner{Retry: DefaultRetry, Log: &log, Progress: func(stage string, pct float64) {
		if pct < 0 || pct > 100 {
			t.Errorf("stage %q: percent %v", stage, pct)
		}
		if _, ok := top[stage]; !ok {
			stages = append(stages, stage)
		}
		top[stage] = max(top[stage], pct)
	}}
	start := time.Now()
	if err := r.Run(context.Background(), hostPlan(t, Bootstrap{Suite: "bookworm"}, target, Archives(cache)), target); err != nil {
		t.Fatal(err)
	}
	t.Logf("bootstrap took %s; bars: %v %v", time.Since(start).Round(time.Second), stages, top)
	for _, s := range []string{"extracting", "installing"} {
		if top[s] < 99 {
			t.Errorf("stage %s reached %v%%, want 100 (stages %v)", s, top[s], stages)
		}
	}
	if !strings.Contains(log.String(), "I: ") || strings.ContainsAny(log.String(), "\x1b\r") {
		t.Errorf("mmdebstrap's text, without bars, escapes or carriage returns, want its I: lines:\n%s", log.String())
	}
	testutil.NoLeaks(t, target)
	inst, err := ReadStatus(target)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"base-files:amd64", "apt:amd64", "dpkg:amd64"} {
		if inst[p] == "" {
			t.Errorf("%s not installed", p)
		}
	}
	for _, p := range []string{"etc/resolv.conf", "etc/hostname"} {
		if _, err := os.Lstat(filepath.Join(target, p)); err == nil {
			t.Errorf("host file %s left in the root", p)
		}
	}
	if debs, _ := filepath.Glob(filepath.Join(target, "var/cache/apt/archives/*.deb")); len(debs) > 0 {
		t.Errorf("%d packages left in the root's archives", len(debs))
	}
	// mmdebstrap's apt-get clean ran on the root's own cache, as it always
	// did: it leaves archives/partial, which the base layer holds (without
	// it, the layer differed from the one built before the shared cache
	// was kept through the cleanup).
	if fi, err := os.Stat(filepath.Join(target, "var/cache/apt/archives/partial")); err != nil || !fi.IsDir() {
		t.Errorf("the root has no var/cache/apt/archives/partial (mmdebstrap's cleanup did not run on its own cache): %v", err)
	}
	if bins, _ := filepath.Glob(filepath.Join(target, "var/cache/apt/*.bin")); len(bins) > 0 {
		t.Errorf("apt's caches left in the root: %v", bins)
	}
	if debs, _ := filepath.Glob(filepath.Join(Archives(cache), "base-files_*.deb")); len(debs) == 0 {
		t.Errorf("the shared cache %s did not keep base-files", Archives(cache))
	}
	sources, _ := filepath.Glob(filepath.Join(target, "etc/apt/sources.list*"))
	if len(sources) == 0 {
		t.Errorf("the root has no apt sources")
	}
}

// TestBootstrapDebootstrap bootstraps bookworm minbase with debootstrap,
// from the host's mirror, its packages in the shared cache.
func TestBootstrapDebootstrap(t *testing.T) {
	needsRootAndArchive(t)
	cache, err := CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := LockCache(context.Background(), cache)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	target := t.TempDir()
	r := &Runner{Retry: DefaultRetry}
	start := time.Now()
	if err := r.Run(context.Background(), hostPlan(t, Bootstrap{Tool: "debootstrap", Suite: "bookworm"}, target, Archives(cache)), target); err != nil {
		t.Fatal(err)
	}
	t.Logf("debootstrap took %s", time.Since(start).Round(time.Second))
	testutil.NoLeaks(t, target)
	inst, err := ReadStatus(target)
	if err != nil {
		t.Fatal(err)
	}
	if inst["base-files:amd64"] == "" || inst["apt:amd64"] == "" {
		t.Errorf("debootstrap's root lacks base-files or apt: %d packages", len(inst))
	}
	for _, p := range []string{"etc/resolv.conf", "etc/hostname"} {
		if _, err := os.Lstat(filepath.Join(target, p)); err == nil {
			t.Errorf("host file %s left in the root", p)
		}
	}
}

// TestBootstrapFailures checks that a bootstrap that cannot work fails with
// one error naming the cause, and leaves nothing behind.
func TestBootstrapFailures(t *testing.T) {
	needsRootAndArchive(t)
	for _, tc := range []struct {
		name string
		b    Bootstrap
		want string
	}{
		{"unknown suite", Bootstrap{Suite: "nosuchsuite"}, "does not have a Release file"},
		{"unreachable mirror", Bootstrap{Suite: "bookworm", Mirror: "http://127.0.0.1:9/debian"}, "Could not connect to 127.0.0.1:9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := t.TempDir()
			r := &Runner{Retry: Retry{Attempts: 2, Backoff: 10 * time.Millisecond}}
			err := r.Run(context.Background(), hostPlan(t, tc.b, target, t.TempDir()), target)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "bootstrap "+tc.b.Suite+" with mmdebstrap: ") {
				t.Errorf("error %v, want one naming %q", err, tc.want)
			}
			t.Logf("error: %v", err)
			if entries, _ := os.ReadDir(target); len(entries) != 0 {
				t.Errorf("left in the target: %v", entries)
			}
			testutil.NoLeaks(t, target)
		})
	}
}
