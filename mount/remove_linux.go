package mount

import (
	"fmt"
	"os"
	"path/filepath"
)

// RemoveUnmounted removes dir and everything below it, but only when no
// mount is at or below it: a recursive delete through a live mount deletes
// what is mounted (a parent's layer, a host directory). With a mount left it
// removes nothing and names the mount.
func RemoveUnmounted(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	table, err := Table()
	if err != nil {
		return err
	}
	if m := Below(table, dir); len(m) > 0 {
		return fmt.Errorf("%s not removed: %s is still mounted", dir, m[0])
	}
	return os.RemoveAll(dir)
}
