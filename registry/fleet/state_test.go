package fleet_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/registry/fleet"
)

// TestStateSavedLater: a machine's bookkeeping (a boot.ipxe request, a
// report) reaches the state file within a second or so without a write
// per request, and at once with Flush (mode serve's exit); an action is
// saved at once.
func TestStateSavedLater(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "fleet.json")
	fl, err := fleet.New(fleet.WithSiteFile(write(t, dir, "rules:\n  - name: d\n    chain: console\n"), chains{}), fleet.WithState(state))
	if err != nil {
		t.Fatal(err)
	}
	saved := func(text string) bool {
		b, _ := os.ReadFile(state)
		return strings.Contains(string(b), text)
	}
	if _, err := fl.BootIPXE(fleet.Machine{MAC: "52:54:00:00:00:01"}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); !saved("52:54:00:00:00:01"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a boot.ipxe request never reached the state file")
		}
	}
	if _, err := fl.BootIPXE(fleet.Machine{MAC: "52:54:00:00:00:02"}); err != nil {
		t.Fatal(err)
	}
	fl.Flush()
	if !saved("52:54:00:00:00:02") {
		t.Error("Flush did not write the request held back")
	}
	if _, err := fl.AddAction("52:54:00:00:00:03", "boot-once", "extra"); err != nil {
		t.Fatal(err)
	}
	if !saved("52:54:00:00:00:03") {
		t.Error("an action was not saved at once")
	}
	again, err := fleet.New(fleet.WithState(state))
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Machines()) != 3 {
		t.Errorf("after a restart: %d machines, want 3", len(again.Machines()))
	}
}
