package debian

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestShareBootLists(t *testing.T) {
	cache := t.TempDir()
	plan := func(b Bootstrap) *Command {
		c, err := Plan(b, "/t", Archives(cache), "/s", testHost, "bookworm")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	bookworm := Bootstrap{Suite: "bookworm"}
	key := plan(bookworm).ListsKey()
	if !strings.HasPrefix(key, "boot-") {
		t.Fatalf("ListsKey %q", key)
	}
	for _, other := range []Bootstrap{{Suite: "trixie"}, {Suite: "bookworm", Architecture: "arm64"},
		{Suite: "bookworm", Mirror: "http://m.example.org/debian"}, {Suite: "bookworm", Include: []string{"less"}}} {
		if k := plan(other).ListsKey(); k == key {
			t.Errorf("%+v has bookworm's lists key %s", other, k)
		}
	}
	if k := plan(Bootstrap{Tool: "debootstrap", Suite: "bookworm"}).ListsKey(); k != "" {
		t.Errorf("debootstrap's lists key %q, want none", k)
	}
	c := plan(Bootstrap{Suite: "bookworm", Variant: "extract"})
	if k := c.ListsKey(); k != "" {
		t.Errorf("the extract variant's lists key %q, want none", k)
	}
	args := slices.Clone(c.Args)
	if c.ShareLists("/l", true); !slices.Equal(args, c.Args) {
		t.Errorf("the extract variant shares lists: %q", c.Args)
	}

	// No lists yet: the run updates them (bound in, unbound before the
	// cleanup) and they are stamped after it.
	c = plan(bookworm)
	kept, note, done, err := ShareBootLists(cache, c, time.Hour, true)
	if err != nil || kept {
		t.Fatalf("first bootstrap: kept %v, %v", kept, err)
	}
	if !strings.Contains(note, "updated by this run") {
		t.Errorf("note %q", note)
	}
	lists := filepath.Join(cache, "lists", key)
	bind := `--setup-hook=mkdir -p "$1"/var/lib/apt/lists && mount --bind '` + lists + `' "$1"/var/lib/apt/lists`
	i := slices.Index(c.Args, bind)
	if i < 0 || !slices.Contains(c.Args, `--customize-hook=umount "$1"/var/lib/apt/lists`) || slices.Contains(c.Args, "--skip=update") {
		t.Errorf("args %q", c.Args)
	}
	if s := slices.Index(c.Args, "bookworm"); s < i || c.Args[s+1] != "/t" {
		t.Errorf("options after the suite: %q", c.Args)
	}
	if k := c.ListsKey(); k != key {
		t.Errorf("ListsKey after ShareLists %s, before %s", k, key)
	}
	if fi, err := os.Stat(filepath.Join(lists, "partial")); err != nil || !fi.IsDir() {
		t.Errorf("no partial directory in the lists: %v", err)
	}
	os.WriteFile(filepath.Join(lists, "m_dists_bookworm_InRelease"), []byte("x"), 0o644)
	if err := done(nil); err != nil {
		t.Fatal(err)
	}

	// Fresh: no update.
	c = plan(bookworm)
	kept, note, _, err = ShareBootLists(cache, c, time.Hour, true)
	if err != nil || !kept || !slices.Contains(c.Args, "--skip=update") || !strings.Contains(note, "kept: younger than 1h0m0s") {
		t.Errorf("fresh lists: kept %v, note %q, args %q, %v", kept, note, c.Args, err)
	}
	// Not to be kept (a retry, or --update): updated, the stamp gone
	// until the run ends well.
	c = plan(bookworm)
	kept, _, done, err = ShareBootLists(cache, c, time.Hour, false)
	if err != nil || kept || slices.Contains(c.Args, "--skip=update") {
		t.Errorf("keep false: kept %v, args %q, %v", kept, c.Args, err)
	}
	if _, ok := ListsAge(cache, key); ok {
		t.Error("the stamp stays while the lists are updated")
	}
	done(os.ErrDeadlineExceeded) // a failed run stamps nothing
	if _, ok := ListsAge(cache, key); ok {
		t.Error("a failed run stamped the lists")
	}
	// Older than the window: updated.
	done(nil)
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(stampPath(cache, key), old, old)
	c = plan(bookworm)
	if kept, _, _, _ = ShareBootLists(cache, c, time.Hour, true); kept {
		t.Error("lists two hours old kept with a window of one")
	}
}
