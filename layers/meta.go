package layers

import "time"

// Meta is a layer's metadata. It travels beside the layer: as FILE.json next to
// FILE.sqfs in an output directory, inside the chain config in a registry, and in
// /run/mode/chain.json on a booted system.
type Meta struct {
	Name        string    `json:"name"`             // module name: "console"
	Parent      string    `json:"parent,omitempty"` // parent module name; empty for a base
	Chain       []string  `json:"chain"`            // base first, ending with Name
	File        string    `json:"file"`             // MoDe file name: "base-essential-console.sqfs"
	Key         string    `json:"key,omitempty"`    // cache key ("sha256:…"); empty for saved layers
	Digest      string    `json:"digest"`           // "sha256:…" of the .sqfs bytes
	Size        int64     `json:"size"`             // bytes of the .sqfs
	Compression string    `json:"compression"`      // NAME[:LEVEL]: "zstd:9", "xz"; older layers "zstd" (level 15)
	Built       time.Time `json:"built"`
	Seconds     float64   `json:"seconds"`  // build time
	Pruned      Pruned    `json:"pruned"`   // copy-ups equal to the lower file, dropped
	Excluded    Pruned    `json:"excluded"` // logs, caches, apt lists and the module's exclude patterns
	Packages    *Packages `json:"packages,omitempty"`
	// ParentDigests are the digests of the layers below this one, base first.
	// Set for saved layers: such a layer never mounts over a different chain.
	ParentDigests []string `json:"parentDigests,omitempty"`
	// ParentManifest is the manifest digest of the chain a layer was saved on,
	// when that chain came from a registry.
	ParentManifest string `json:"parentManifest,omitempty"`
	// Verity opens the layer through dm-verity: its hash tree follows the
	// squashfs data in the file (docs/trust.md). Empty for older layers.
	Verity *Verity `json:"verity,omitempty"`
	// Architecture is the layer's architecture (arm64) when it is not
	// amd64; empty for amd64, as every layer was before there were others.
	Architecture string `json:"architecture,omitempty"`
}

// Arch is m's architecture: Architecture, or amd64 when that is empty.
func (m Meta) Arch() string {
	if m.Architecture == "" {
		return DefaultArch
	}
	return m.Architecture
}

// Pruned counts files and bytes dropped from an upper directory before squashing.
type Pruned struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

// Packages is a layer's Debian package diff: the chain's dpkg status before
// against after. Versions are Debian version strings.
type Packages struct {
	Added    []Package `json:"added,omitempty"`
	Removed  []Package `json:"removed,omitempty"`
	Upgraded []Package `json:"upgraded,omitempty"` // Version is the new one, From the old
}

// Package is one Debian package of a Packages diff.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	From    string `json:"from,omitempty"`
}

// Compressions are the squashfs compressors mode accepts; the first is the
// default's (DefaultCompression).
var Compressions = []string{"zstd", "gzip", "xz", "lz4"}

// CheckCompression returns an error naming c when it is not a compression
// ParseCompression accepts (NAME[:LEVEL]).
func CheckCompression(c string) error {
	_, err := ParseCompression(c)
	return err
}
