package debian

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Keeping fresh lists: each set of sources (SourcesKey) has its lists in
// the shared cache, lists/KEY, and a stamp beside them, lists/KEY.updated,
// whose modification time is the end of the last apt-get update that
// succeeded (written under the cache lock; removed before an update starts,
// so an update killed half-way leaves none). A build whose Apt has a
// ListsMaxAge keeps lists stamped less than that long ago: no apt-get update.
// Should the download then fail (the archive dropped a version the lists
// name, or added a package they lack), the lists are updated and the
// download tried once more.

// DefaultListsMaxAge is how long `mode build` keeps a set of sources' lists
// by default. Debian's archive publishes a few times a day (every six hours,
// security updates in between): an hour keeps the builds of one sitting off
// the network for their lists and is well inside one publication.
const DefaultListsMaxAge = time.Hour

// stampPath is the stamp of key's lists in cache.
func stampPath(cache, key string) string {
	return filepath.Join(cache, "lists", key+".updated")
}

// ListsAge returns how long ago key's lists in cache were updated, and
// false when they were never updated to the end (no stamp, or no lists).
func ListsAge(cache, key string) (time.Duration, bool) {
	fi, err := os.Stat(stampPath(cache, key))
	if err != nil {
		return 0, false
	}
	entries, err := os.ReadDir(filepath.Join(cache, "lists", key))
	if err != nil {
		return 0, false
	}
	for _, e := range entries {
		if e.Type().IsRegular() && e.Name() != "lock" {
			return time.Since(fi.ModTime()), true
		}
	}
	return 0, false
}

// keepLists reports whether a's key lists are younger than ListsMaxAge,
// and tells Note which lists it keeps.
func (a *Apt) keepLists(key string) bool {
	if a.ListsMaxAge <= 0 {
		return false
	}
	age, ok := ListsAge(a.Cache, key)
	if !ok || age < 0 || age >= a.ListsMaxAge { // a stamp in the future: the clock moved
		return false
	}
	a.note(fmt.Sprintf("apt: lists/%s updated %s ago (kept: younger than %s; mode build --update updates them)",
		key, age.Round(time.Second), a.ListsMaxAge))
	return true
}

// takeReused reports whether key's lists were kept from an earlier build
// and not updated since, and counts them as updated no more.
func (a *Apt) takeReused(key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.reused[key] {
		return false
	}
	delete(a.reused, key)
	delete(a.updated, key)
	return true
}

// note tells Note line, if set.
func (a *Apt) note(line string) {
	if a.Note != nil {
		a.Note(line)
	}
}

// stamp marks key's lists in cache as updated now.
func stamp(cache, key string) error {
	if err := os.WriteFile(stampPath(cache, key), nil, 0o644); err != nil {
		return fmt.Errorf("apt cache: %w", err)
	}
	now := time.Now()
	if err := os.Chtimes(stampPath(cache, key), now, now); err != nil {
		return fmt.Errorf("apt cache: %w", err)
	}
	return nil
}

// clearStamp removes key's stamp: its lists count as never updated.
func clearStamp(cache, key string) error {
	if err := os.Remove(stampPath(cache, key)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("apt cache: %w", err)
	}
	return nil
}
