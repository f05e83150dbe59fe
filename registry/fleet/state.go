package fleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

type stateFile struct {
	NextID   int                `json:"next_id"`
	Machines map[string]*Record `json:"machines"`
}

func (fl *Fleet) readState() error {
	b, err := os.ReadFile(fl.state)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var s stateFile
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("fleet state %s: %w", fl.state, err)
	}
	fl.nextID = s.NextID
	if s.Machines != nil {
		fl.machines = s.Machines
	}
	return nil
}

// saveDelay is how long a change of a machine's bookkeeping (its last
// boot.ipxe request, last report, facts) may wait to be saved: a rack
// booting together makes one write of the state a second, not one per
// request (each write is the whole fleet).
const saveDelay = time.Second

// saveLater saves the state within saveDelay (fl.mu held). Action changes
// use save: at once.
func (fl *Fleet) saveLater() {
	if fl.state == "" || fl.dirty {
		return
	}
	fl.dirty = true
	time.AfterFunc(saveDelay, fl.Flush)
}

// Flush writes the changes saveLater holds back, if any: mode serve calls
// it when it stops.
func (fl *Fleet) Flush() {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.dirty {
		fl.save()
	}
}

// save writes the state file (fl.mu held); a failure is logged.
func (fl *Fleet) save() {
	if fl.state == "" {
		return
	}
	fl.dirty = false
	b, err := json.Marshal(stateFile{NextID: fl.nextID, Machines: fl.machines})
	if err == nil {
		tmp := fl.state + ".tmp"
		if err = os.WriteFile(tmp, b, 0o600); err == nil {
			err = os.Rename(tmp, fl.state)
		}
	}
	if err != nil {
		fl.logger.Error("fleet state not saved", "file", filepath.Base(fl.state), "err", err)
	}
}
