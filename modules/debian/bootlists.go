package debian

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The bootstrap's lists: mmdebstrap runs apt-get update into the root it
// makes, from nothing, in every bootstrap, and its cleanup throws the lists
// away. With ShareLists they live in the shared cache instead, lists/KEY
// (KEY from ListsKey: the sources, suite, architecture and options), bound
// over the root's /var/lib/apt/lists until its cleanup (the cache lock is
// held through a bootstrap), so an update fetches only what changed, and none
// runs at all while they are fresh (lists.go's stamp, as for the steps).

// ListsKey names the lists of c's sources in the shared cache: "boot-" and
// a digest of its tool, options, suite and sources (the target and the
// sources file's path aside). "" for what keeps no lists: debootstrap, and
// mmdebstrap's extract variant, which runs no customize hook to unbind them
// before its cleanup (that would empty them through the bind).
func (c *Command) ListsKey() string {
	if c.Tool != "mmdebstrap" || c.opts == 0 || slices.Contains(c.Args[:c.opts], "--variant=extract") {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", c.Tool, c.Suite)
	for _, a := range c.Args[:c.opts-c.shared] { // as planned: ShareLists's options aside
		fmt.Fprintf(h, "%s\x00", a)
	}
	if c.SourcesFile == "" { // a mirror of the module's own, after the target
		fmt.Fprintf(h, "%s\x00", strings.Join(c.Args[c.opts+2:], "\x00"))
	}
	h.Write(c.Sources)
	return "boot-" + hex.EncodeToString(h.Sum(nil))[:16]
}

// ShareLists has c keep its lists in the directory lists (made by the
// caller; in the shared cache, see above), and run no update when fresh.
// The lists are bound in by a setup hook (after mmdebstrap's setup, before
// its update) and unbound by a customize hook, before mmdebstrap's cleanup,
// which then cleans the root's own lists as it always did (so the root is
// the same to the byte). Runner.Run takes down any bind a failed run left
// (mount.UnmountBelow).
func (c *Command) ShareLists(lists string, fresh bool) {
	if c.ListsKey() == "" {
		return
	}
	opts := []string{
		"--setup-hook=mkdir -p \"$1\"/var/lib/apt/lists && mount --bind " + shellQuote(lists) + " \"$1\"/var/lib/apt/lists",
		"--customize-hook=umount \"$1\"/var/lib/apt/lists"}
	if fresh {
		opts = append(opts, "--skip=update")
	}
	c.Args = slices.Insert(c.Args, c.opts, opts...)
	c.opts += len(opts)
	c.shared += len(opts)
}

// BootLists returns the directory of the lists of key in the shared cache.
func BootLists(cache, key string) string { return filepath.Join(cache, "lists", key) }

// ShareBootLists has c (when mmdebstrap) keep its lists in the shared cache
// (ShareLists), with no update when keep is set and they were updated less
// than maxAge ago. Call it with the cache lock held and run c before letting
// it go; then call done with the run's error: it stamps lists that the run
// updated. kept says they were used with no update (a run that fails should
// then be tried again, planned anew, without keep); note says which lists
// the bootstrap uses and how old ("" when c keeps none).
func ShareBootLists(cache string, c *Command, maxAge time.Duration, keep bool) (kept bool, note string, done func(error) error, err error) {
	key := c.ListsKey()
	if key == "" {
		return false, "", func(error) error { return nil }, nil
	}
	lists := BootLists(cache, key)
	if err := os.MkdirAll(filepath.Join(lists, "partial"), 0o755); err != nil {
		return false, "", nil, fmt.Errorf("apt cache: %w", err)
	}
	age, ok := ListsAge(cache, key)
	if keep && maxAge > 0 && ok && age >= 0 && age < maxAge {
		c.ShareLists(lists, true)
		note = fmt.Sprintf("bootstrap: lists/%s updated %s ago (kept: younger than %s; mode build --update updates them)", key, age.Round(time.Second), maxAge)
		return true, note, func(error) error { return nil }, nil
	}
	// No stamp while the run updates them: a run killed half-way leaves
	// lists that the next one updates.
	if err := clearStamp(cache, key); err != nil {
		return false, "", nil, err
	}
	c.ShareLists(lists, false)
	note = fmt.Sprintf("bootstrap: lists/%s updated by this run", key)
	return false, note, func(err error) error {
		if err != nil {
			return nil
		}
		return stamp(cache, key)
	}, nil
}
