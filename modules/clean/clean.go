package clean

import (
	"path"
	"strings"
)

// Options is what Clean does to an upper directory before it is squashed.
type Options struct {
	// Lower is the parent chain's merged tree; copy-ups equal to their lower
	// file are dropped. Empty for a base module: nothing to compare with.
	Lower string
	// Exclude are the module's patterns, absolute paths with shell globs
	// ("/var/log/*.log"); a matching entry is dropped with all below it.
	Exclude []string
	// Keep are paths the module writes on purpose (its files' destinations):
	// the built-in exclusions never drop them.
	Keep []string
	// HostFiles are files of the build host (resolv.conf, hostname): a layer
	// file with the same path and the same content is a leak and is dropped.
	HostFiles []string
}

// emptied are directories whose contents never belong in a layer: logs,
// caches, apt's lists and archives, temporary files. The directories stay.
var emptied = []string{
	"/var/log", "/var/cache/apt", "/var/lib/apt/lists", "/var/cache/debconf/tmp",
	"/tmp", "/var/tmp", "/run", "/var/run",
}

// dropped are single files that are build-time leftovers.
var dropped = []string{
	"/var/cache/debconf/config.dat-old", "/var/cache/debconf/templates.dat-old",
	"/var/lib/dpkg/status-old", "/var/lib/dpkg/diversions-old", "/var/lib/dpkg/statoverride-old",
	"/var/cache/ldconfig/aux-cache",
}

// truncated are files kept, but empty: each booted machine makes its own.
var truncated = []string{"/etc/machine-id"}

// excludedBuiltin reports whether the built-in rules drop the non-directory
// p (a path in the layer, "/etc/…").
func excludedBuiltin(p string) bool {
	for _, d := range emptied {
		if strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	for _, f := range dropped {
		if p == f {
			return true
		}
	}
	return false
}

// excludedBy reports whether p matches one of patterns.
func excludedBy(patterns []string, p string) bool {
	for _, pat := range patterns {
		if ok, _ := path.Match(pat, p); ok {
			return true
		}
	}
	return false
}

func kept(keep []string, p string) bool {
	for _, k := range keep {
		if p == path.Clean(k) || strings.HasPrefix(p, path.Clean(k)+"/") {
			return true
		}
	}
	return false
}
