package netboot

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/mode-build/mode/internal/proc"
)

// tempPrefix names mode serve's temporary directory (the initramfs it
// builds for /boot/): mode-netboot-PID-RANDOM in the temp folder, so that
// the next start removes those of servers that were killed.
const tempPrefix = "mode-netboot-"

// tempName matches a netboot temporary directory and captures its pid.
var tempName = regexp.MustCompile(`^` + tempPrefix + `([0-9]+)-[0-9]+$`)

// makeTemp removes the netboot directories that servers no longer
// running left in the temp folder, then makes this server's.
func makeTemp() (string, error) {
	sweepTemp(os.TempDir())
	return os.MkdirTemp("", fmt.Sprintf("%s%d-*", tempPrefix, os.Getpid()))
}

// sweepTemp removes the netboot directories in dir whose server is
// not alive, and returns their names. They hold files only (no mounts).
func sweepTemp(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		m := tempName.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		if pid, err := strconv.Atoi(m[1]); err == nil && pid != os.Getpid() && !proc.Alive(pid) {
			if os.RemoveAll(filepath.Join(dir, e.Name())) == nil {
				removed = append(removed, e.Name())
			}
		}
	}
	return removed
}
