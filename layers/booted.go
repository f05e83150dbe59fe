package layers

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// RunDir is where a booted system finds what it runs: chain.json, the layers
// (layers/FILE.sqfs, each mounted at layers/FILE without .sqfs), the overlay
// upper directory changes/ and the mode binary bin/mode.
const RunDir = "/run/mode"

// Booted is RunDir/chain.json: the chain a system booted, written by the
// init. Layers are the layers mounted, base first (after mode.load and
// mode.noload filtering).
type Booted struct {
	Name   string `json:"name"`             // the chain name: the top layer's file name without .sqfs
	Ref    string `json:"ref"`              // the reference it booted, "HOST/REPO:TAG" or a local path
	Digest string `json:"digest,omitempty"` // the chain's manifest digest, when it came from a registry
	// Insecure: the registry was reached over plain HTTP (mode.insecure);
	// mode save --push to it does the same.
	Insecure bool   `json:"insecure,omitempty"`
	Changes  string `json:"changes,omitempty"` // where the upper directory lives with mode.changes: "/dev/vdb:mode/changes/<key>"
	// Mirrors are the registries tried before Ref's (mode.mirrors), HOST[:PORT].
	Mirrors []string `json:"mirrors,omitempty"`
	// Offline: no registry answered, the chain came from the mode.cache disk.
	Offline bool `json:"offline,omitempty"`
	// Lazy: the layers are read from the registry on demand (mode.lazy=on),
	// each through dm-verity; Verified: the init checked the chain's
	// signature (mode.verify), which mounts every layer through dm-verity.
	Lazy     bool   `json:"lazy,omitempty"`
	Verified bool   `json:"verified,omitempty"`
	Layers   []Meta `json:"layers"`
}

// ChainFile, ChangesDir and LayersDir name the parts of a run directory.
func ChainFile(runDir string) string  { return filepath.Join(runDir, "chain.json") }
func ChangesDir(runDir string) string { return filepath.Join(runDir, "changes") }
func LayersDir(runDir string) string  { return filepath.Join(runDir, "layers") }

// WorkDir is the overlay work directory of the changes when they are a
// tmpfs (the init's), MountsDir where the init mounts media (mode.from,
// mode.cache), BinDir where it keeps the mode binary for the booted system.
func WorkDir(runDir string) string   { return filepath.Join(runDir, ".work") }
func MountsDir(runDir string) string { return filepath.Join(runDir, "mnt") }
func BinDir(runDir string) string    { return filepath.Join(runDir, "bin") }

// TokenFile is where the init keeps the push token of mode.token (mode 0600),
// which mode save --push presents when given none.
func TokenFile(runDir string) string { return filepath.Join(runDir, "token") }

// CAFile is where the init keeps the site CA the initramfs carried
// (/etc/mode/ca.crt), which mode save --push trusts when given none.
func CAFile(runDir string) string { return filepath.Join(runDir, "ca.crt") }

// ReadBooted reads runDir/chain.json. It fails, naming the file, when the
// file is missing (not a booted mode system) or holds no layers.
func ReadBooted(runDir string) (*Booted, error) {
	p := ChainFile(runDir)
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: not found: this is not a system booted by mode (or give its run directory): %w", p, err)
	}
	if err != nil {
		return nil, err
	}
	var b Booted
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if len(b.Layers) == 0 {
		return nil, fmt.Errorf("%s: no layers", p)
	}
	for i, m := range b.Layers {
		if m.File == "" || m.Name == "" {
			return nil, fmt.Errorf("%s: layer %d has no name or file", p, i+1)
		}
	}
	return &b, nil
}

// ChainName is the name the booted chain's layers join to: the top layer's
// file name without .sqfs ("base-essential-console").
func (b *Booted) ChainName() string {
	return strings.TrimSuffix(b.Layers[len(b.Layers)-1].File, ".sqfs")
}

// ErrParentMismatch is returned (wrapped, naming the layers) when a saved
// layer would mount over a chain other than the one it was saved on.
var ErrParentMismatch = errors.New("saved layer over a different parent chain")

// CheckParents verifies every layer of metas (base first, as they would be
// stacked) that records ParentDigests: the layers below it must be exactly
// those, in that order. The error names the saved layer and the first parent
// that differs, missing or extra.
func CheckParents(metas []Meta) error {
	for i, m := range metas {
		if len(m.ParentDigests) == 0 {
			continue
		}
		below := metas[:i]
		for j, want := range m.ParentDigests {
			if j >= len(below) {
				return fmt.Errorf("layer %s: %w: parent %d of %d (digest %s) is missing below it",
					m.File, ErrParentMismatch, j+1, len(m.ParentDigests), ShortDigest(want))
			}
			if got := below[j]; got.Digest != want {
				return fmt.Errorf("layer %s: %w: parent %d is %s (digest %s), it was saved on digest %s",
					m.File, ErrParentMismatch, j+1, got.File, ShortDigest(got.Digest), ShortDigest(want))
			}
		}
		if len(below) > len(m.ParentDigests) {
			extra := below[len(m.ParentDigests)]
			return fmt.Errorf("layer %s: %w: %s (digest %s) is below it, but it was saved on %d layers",
				m.File, ErrParentMismatch, extra.File, ShortDigest(extra.Digest), len(m.ParentDigests))
		}
	}
	return nil
}
