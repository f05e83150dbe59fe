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
	dir, m, err := mountsBelow(dir)
	if err != nil {
		return err
	}
	if len(m) > 0 {
		return fmt.Errorf("%s not removed: %s is still mounted", dir, m[0])
	}
	return os.RemoveAll(dir)
}

// UnmountBelow unmounts whatever is mounted below dir (not dir itself), the
// last mounted first: what a tool's hook mounted and left, before dir's
// contents are removed.
func UnmountBelow(dir string) error {
	dir, below, err := mountsBelow(dir)
	if err != nil {
		return err
	}
	for i := len(below) - 1; i >= 0; i-- {
		if below[i] == dir {
			continue
		}
		if err := Unmount(below[i]); err != nil {
			return err
		}
	}
	return nil
}

// mountsBelow is dir made absolute and the mounts at or below it (Below).
func mountsBelow(dir string) (string, []string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	table, err := Table()
	if err != nil {
		return "", nil, err
	}
	return dir, Below(table, dir), nil
}
