package layers

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// LazyFile is where a lazy boot's server keeps its progress (mode.lazy=on,
// docs/boot.md "Lazy boot"), under the run directory.
func LazyFile(runDir string) string { return filepath.Join(runDir, "lazy.json") }

// LazyModuleFile is where the lazy server of a module activated lazily
// (mode activate on a lazy boot, docs/activate.md) keeps its progress:
// lazy-NAME.json beside LazyFile.
func LazyModuleFile(runDir, name string) string {
	return filepath.Join(runDir, "lazy-"+name+".json")
}

// LazyStatus is a lazy boot's progress: each layer's bytes local and
// fetched from the registry; Whole once every layer is local (no read
// needs the registry any more); Done once the background fill ended, each
// whole file's digest checked, Error saying what failed if one did.
type LazyStatus struct {
	Layers  []LazyLayer `json:"layers"`
	Whole   bool        `json:"whole"`
	Fetched int64       `json:"fetched"`
	Size    int64       `json:"size"`
	Done    bool        `json:"done,omitempty"`
	Error   string      `json:"error,omitempty"`
}

// LazyLayer is one layer of LazyStatus.
type LazyLayer struct {
	File    string `json:"file"`
	Size    int64  `json:"size"`
	Local   int64  `json:"local"`
	Fetched int64  `json:"fetched"`
}

// ReadLazy reads runDir's lazy.json; os.ErrNotExist when the boot was not lazy.
func ReadLazy(runDir string) (*LazyStatus, error) { return ReadLazyFile(LazyFile(runDir)) }

// ReadLazyFile reads a lazy server's status file (LazyFile, LazyModuleFile).
func ReadLazyFile(file string) (*LazyStatus, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var st LazyStatus
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &st, nil
}

// Summary says how much was fetched, when ("before switch_root").
func (st LazyStatus) Summary(when string) string {
	s := fmt.Sprintf("lazy: %s of the chain's %s fetched %s", Size(st.Fetched), Size(st.Size), when)
	if st.Size > 0 {
		s += fmt.Sprintf(" (%.0f%%)", 100*float64(st.Fetched)/float64(st.Size))
	}
	if st.Whole {
		s += ", every layer local"
	}
	return s
}
