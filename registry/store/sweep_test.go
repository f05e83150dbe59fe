package store

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// TestSweepTemp: the temporary files of dead processes go, the others'
// and the pulls' and uploads' stay.
func TestSweepTemp(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead, live := strconv.Itoa(cmd.Process.Pid), strconv.Itoa(os.Getpid())
	if err := os.MkdirAll(filepath.Join(s.TempDir(), "pull-0123456789abcdef"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"blob." + dead + ".42", "index.json." + dead + ".7", "blob." + live + ".1", "upload-abc", "blob.123"} {
		if err := os.WriteFile(filepath.Join(s.TempDir(), f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.SweepTemp()
	if err != nil || n != 2 {
		t.Errorf("SweepTemp removed %d: %v, want 2", n, err)
	}
	var left []string
	es, _ := os.ReadDir(s.TempDir())
	for _, e := range es {
		left = append(left, e.Name())
	}
	want := []string{"blob." + live + ".1", "blob.123", "pull-0123456789abcdef", "upload-abc"}
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Errorf("left %v, want %v", left, want)
	}
}
