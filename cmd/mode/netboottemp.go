package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/mode-build/mode/internal/proc"
)

// netbootTempPrefix names mode serve's temporary directory (the initramfs it
// builds for /boot/): mode-netboot-PID-RANDOM in the temp folder, so that
// the next start removes those of servers that were killed.
const netbootTempPrefix = "mode-netboot-"

// netbootTemp matches a netboot temporary directory and captures its pid.
var netbootTemp = regexp.MustCompile(`^` + netbootTempPrefix + `([0-9]+)-[0-9]+$`)

// makeNetbootTemp removes the netboot directories that servers no longer
// running left in the temp folder, then makes this server's.
func makeNetbootTemp() (string, error) {
	sweepNetbootTemp(os.TempDir())
	return os.MkdirTemp("", fmt.Sprintf("%s%d-*", netbootTempPrefix, os.Getpid()))
}

// sweepNetbootTemp removes the netboot directories in dir whose server is
// not alive, and returns their names. They hold files only (no mounts).
func sweepNetbootTemp(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		m := netbootTemp.FindStringSubmatch(e.Name())
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
