package main

import (
	"fmt"
	"runtime"
)

// defaultBuildJobs is how many modules `mode build` makes at once by
// default: one per core, at most 4 (every layer's mksquashfs uses all cores
// on its own, and apt steps take the shared apt cache one at a time).
func defaultBuildJobs() int {
	return max(1, min(runtime.NumCPU(), 4))
}

// buildJobs checks the --jobs value: 0 builds one module after the other,
// each squashed before the next starts.
func buildJobs(n int) (int, error) {
	if n < 0 {
		return 0, fmt.Errorf("build: --jobs %d: want 0 (one module at a time, no pipelining) or more", n)
	}
	return n, nil
}
