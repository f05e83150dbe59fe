package debian

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/testutil"
)

// TestBootstrapFailKeepsCache: a bootstrap that fails (here: a package that
// does not exist) leaves the package cache as it was, although mmdebstrap's
// setup hook bind-mounts that cache into the root and the failed try's root
// is emptied for the next try: the emptying must not reach through a bind
// mount. The same for the shared lists (ShareBootLists): the run's update
// fills them through their bind, and the failure neither empties them nor
// stamps them. Nothing stays mounted below the root.
func TestBootstrapFailKeepsCache(t *testing.T) {
	needsRootAndArchive(t)
	cache := t.TempDir() // not the shared cache: the old code emptied it
	marker := filepath.Join(cache, "kept_1.0_all.deb")
	if err := os.WriteFile(marker, []byte("a package already downloaded"), 0o644); err != nil {
		t.Fatal(err)
	}
	target := t.TempDir()
	r := &Runner{Retry: Retry{Attempts: 1}}
	c := hostPlan(t, Bootstrap{Suite: "bookworm", Include: []string{"mode-no-such-package"}}, target, cache)
	shared := t.TempDir()
	kept, _, done, err := ShareBootLists(shared, c, time.Hour, true)
	if err != nil || kept {
		t.Fatalf("ShareBootLists: kept %v, %v", kept, err)
	}
	err = r.Run(context.Background(), c, target)
	if err == nil {
		t.Fatal("a bootstrap including a package that does not exist succeeded")
	}
	if derr := done(err); derr != nil {
		t.Fatal(derr)
	}
	if releases, _ := filepath.Glob(filepath.Join(BootLists(shared, c.ListsKey()), "*Release")); len(releases) == 0 {
		entries, _ := os.ReadDir(BootLists(shared, c.ListsKey()))
		t.Errorf("the shared lists hold no Release file after the bootstrap's update: %v", entries)
	}
	if age, ok := ListsAge(shared, c.ListsKey()); ok {
		t.Errorf("a failed bootstrap stamped its lists (%s ago)", age)
	}
	t.Logf("refused as it should be: %v", err)
	if _, serr := os.Stat(marker); serr != nil {
		t.Errorf("the package cache lost what it held: %v", serr)
	}
	testutil.NoLeaks(t, target)
}
