//go:build !linux

package squashfs

import "os/exec"

// startQuiet starts cmd as it is: priorities are set on Linux only.
func startQuiet(cmd *exec.Cmd) error { return cmd.Start() }
