package layers

import "path/filepath"

// ActiveDir is where mode activate mounts the modules it adds to a running
// system (ActiveDir/NAME), ActiveFile the list of them (package activate's
// State), kept in RAM like the rest of the run directory.
func ActiveDir(runDir string) string  { return filepath.Join(runDir, "active") }
func ActiveFile(runDir string) string { return filepath.Join(runDir, "active.json") }
