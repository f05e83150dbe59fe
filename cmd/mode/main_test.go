package main

import (
	"os"
	"os/exec"
	"testing"
)

// The test binary doubles as the mode binary: with MODE_TEST_MAIN set, it
// runs main with the arguments after "--". Tests that need a real process
// (signals, exit codes) run it through modeCmd.
func TestMain(m *testing.M) {
	if os.Getenv("MODE_TEST_MAIN") != "" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"mode"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		os.Exit(0)
	}
	// Keep the tests' chains out of the machine's store.
	store, err := os.MkdirTemp("", "mode-test-store-")
	if err != nil {
		panic(err)
	}
	os.Setenv("MODE_STORE", store)
	code := m.Run()
	os.RemoveAll(store)
	os.Exit(code)
}

// modeCmd returns the command that runs mode with args in its own process.
func modeCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "MODE_TEST_MAIN=1")
	return cmd
}
