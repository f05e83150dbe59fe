package fleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// save writes the state file (fl.mu held); a failure is logged.
func (fl *Fleet) save() {
	if fl.state == "" {
		return
	}
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
