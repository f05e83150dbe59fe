package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/mode-build/mode/internal/proc"
)

// tempPattern is the os.CreateTemp pattern of a temporary file for name:
// NAME.PID.N, so that SweepTemp can tell whose it is.
func tempPattern(name string) string { return fmt.Sprintf("%s.%d.*", name, os.Getpid()) }

// ownedTemp matches a temporary file made through tempPattern.
var ownedTemp = regexp.MustCompile(`^.+\.([0-9]+)\.[0-9]+$`)

// SweepTemp removes the temporary files (NAME.PID.N) that processes which
// are gone left in the store's temporary directory: a build or a push killed
// while writing a blob. Others' files stay, and so do pulls' resumable
// partial downloads and uploads (pull-*, upload-*), which gc expires. It
// returns how many it removed.
func (s *Store) SweepTemp() (int, error) {
	entries, err := os.ReadDir(s.TempDir())
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store %s: %w", s.dir, err)
	}
	n := 0
	for _, e := range entries {
		m := ownedTemp.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			continue
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil || pid == os.Getpid() || proc.Alive(pid) {
			continue
		}
		if err := os.Remove(filepath.Join(s.TempDir(), e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return n, fmt.Errorf("store %s: %w", s.dir, err)
		}
		n++
	}
	return n, nil
}
