package debian

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// listsRun is a fakeRun whose updates write a Release file into the lists,
// as apt-get update does.
func listsRun(f *fakeRun, cache, key string) RunFunc {
	return func(ctx context.Context, argv ...string) error {
		err := f.run(ctx, argv...)
		if err == nil && argv[len(argv)-1] == "update" {
			os.WriteFile(filepath.Join(cache, "lists", key, "m_dists_bookworm_InRelease"), []byte("x"), 0o644)
		}
		return err
	}
}

func TestAptKeepsFreshLists(t *testing.T) {
	cache, root := t.TempDir(), testRoot(t)
	key, err := SourcesKey(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	build := func(maxAge time.Duration, fail map[string]int) ([]string, []string, error) {
		var notes []string
		a := &Apt{Cache: cache, Retry: Retry{Attempts: 1}, ListsMaxAge: maxAge,
			Note: func(l string) { notes = append(notes, l) }}
		f := &fakeRun{fail: fail}
		err := a.Run(ctx, root, nil, []string{"less"}, listsRun(f, cache, key))
		return f.calls, notes, err
	}
	const (
		update   = "-q update"
		download = "-q -y install --no-install-recommends --download-only -- less"
		install  = "-q -y install --no-install-recommends --no-download -- less"
	)
	check := func(name string, calls []string, want ...string) {
		t.Helper()
		if diff := cmp.Diff(want, calls); diff != "" {
			t.Errorf("%s: apt-get calls (-want +got):\n%s", name, diff)
		}
	}

	// No lists yet: updated, and stamped.
	calls, notes, err := build(time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("first build", calls, update, download, install)
	if len(notes) != 1 || !strings.Contains(notes[0], "lists/"+key+" updated now") {
		t.Errorf("first build's notes %q", notes)
	}
	if age, ok := ListsAge(cache, key); !ok || age < 0 || age > time.Minute {
		t.Errorf("ListsAge after an update: %v, %v", age, ok)
	}

	// A build within the hour keeps them and says how old they are.
	calls, notes, err = build(time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("second build", calls, download, install)
	if len(notes) != 1 || !strings.Contains(notes[0], "lists/"+key+" updated ") || !strings.Contains(notes[0], "kept: younger than 1h0m0s") {
		t.Errorf("second build's notes %q", notes)
	}

	// No window (mode build --update): updated whatever their age.
	calls, _, err = build(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("forced update", calls, update, download, install)

	// Lists older than the window are updated.
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stampPath(cache, key), old, old); err != nil {
		t.Fatal(err)
	}
	calls, _, err = build(time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("old lists", calls, update, download, install)

	// Kept lists that lack a package: updated, and the download tried again.
	calls, notes, err = build(time.Hour, map[string]int{"download-only": 1})
	if err != nil {
		t.Fatal(err)
	}
	check("a download failing over kept lists", calls, download, update, download, install)
	if len(notes) != 3 || !strings.Contains(notes[1], "the download failed over kept lists") {
		t.Errorf("notes of a failed download over kept lists: %q", notes)
	}

	// A failed update leaves no stamp: the next build updates.
	if _, _, err := build(0, map[string]int{"update": 9}); err == nil {
		t.Fatal("an update that keeps failing did not fail the build")
	}
	if age, ok := ListsAge(cache, key); ok {
		t.Errorf("lists count as updated %s ago after a failed update", age)
	}
	calls, _, err = build(time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("after a failed update", calls, update, download, install)
}

func TestAptRemoveOnly(t *testing.T) {
	a := &Apt{Cache: t.TempDir(), Retry: Retry{Attempts: 1}}
	f := &fakeRun{}
	if err := a.Run(context.Background(), testRoot(t), []string{"usrmerge"}, nil, f.run); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"-q update", "-q -y purge -- usrmerge"}, f.calls); diff != "" {
		t.Errorf("apt-get calls (-want +got):\n%s", diff)
	}
}
