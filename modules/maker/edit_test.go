package maker

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// editedConsole copies examples/debian to a temporary directory, replaces
// the first old in its console.yaml with new and returns the directory.
func editedConsole(tb testing.TB, old, new string) string {
	tb.Helper()
	dir := tb.TempDir()
	if out, err := exec.Command("cp", "-a", filepath.Join("..", "..", "examples", "debian")+"/.", dir).CombinedOutput(); err != nil {
		tb.Fatalf("cp: %v: %s", err, out)
	}
	file := filepath.Join(dir, "console.yaml")
	def, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	if !strings.Contains(string(def), old) {
		tb.Fatalf("%s has no %q to edit", file, old)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(def), old, new, 1)), 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}
