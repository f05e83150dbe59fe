package activate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mode-build/mode/layers"
)

// State is RunDir/active.json: the modules activated in a running system,
// in activation order (the last one on top).
type State struct {
	Modules []Module `json:"modules"`
	// Gen numbers the directory overlays mounted so far: each gets a work
	// directory of its own (a lazily detached one may still use its old one).
	Gen int `json:"gen"`
	// Status is the sha256 of dpkg's status as the last activate or
	// deactivate left it: when it differs, dpkg was used since.
	Status string `json:"status,omitempty"`
}

// Module is one activated module.
type Module struct {
	Meta layers.Meta `json:"meta"`
	File string      `json:"file"` // the layer file, as loop-mounted
	From string      `json:"from"` // where it came from: a path, a registry reference, media
	// Pulled: File was pulled from the registry into RunDir/layers (RAM)
	// for this activation; deactivate removes it.
	Pulled bool   `json:"pulled,omitempty"`
	Mount  string `json:"mount"` // where its layer is mounted: RunDir/active/NAME
	// Parents is how many booted layers (base first) it was built on.
	Parents int      `json:"parents"`
	Dirs    []string `json:"dirs"`   // the top-level directories it covers: "etc", "usr"
	Made    []string `json:"made"`   // top-level directories made for it (removed when empty again)
	Status  string   `json:"status"` // sha256 of the dpkg status written at activation ("" if none written)
	// Upper lists the module's paths the upper directory already held at
	// activation (changes made before it): not reported as edits later.
	Upper     []string  `json:"upper,omitempty"`
	Activated time.Time `json:"activated"`
	// Lazy: the layer is read from the registry on demand (a lazy boot's
	// module), File filled in the background.
	Lazy *Lazy `json:"lazy,omitempty"`
}

// Lazy is how a module activated lazily is read: its lazy server
// (boot/lazy) serves the registry's blob as an NBD device, a dm-verity
// device over it checks each block against the module's root hash, and
// the module is mounted from that.
type Lazy struct {
	Pid int `json:"pid"` // the lazy server
	// Start is its start time (/proc/PID/stat): a pid used again since is
	// not signalled.
	Start  string `json:"start"`
	NBD    string `json:"nbd"`    // /dev/nbdN
	Verity string `json:"verity"` // the dm-verity device's name
	Device string `json:"device"` // and its node, /dev/dm-N
	Status string `json:"status"` // the server's progress: layers.LazyModuleFile
}

// Find returns the index of the active module called name, or -1.
func (s *State) Find(name string) int {
	for i, m := range s.Modules {
		if m.Meta.Name == name || m.Meta.File == name || m.Meta.File == name+".sqfs" {
			return i
		}
	}
	return -1
}

// ReadState reads runDir/active.json; a missing file is an empty state.
func ReadState(runDir string) (*State, error) {
	p := layers.ActiveFile(runDir)
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return &State{}, nil
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return &s, nil
}

// write replaces runDir/active.json through a rename.
func (s *State) write(runDir string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	p := layers.ActiveFile(runDir)
	tmp := filepath.Join(filepath.Dir(p), ".active.json.tmp")
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}
