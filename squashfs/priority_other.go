//go:build !linux

package squashfs

import "os/exec"

// runQuiet runs cmd as it is: priorities are set on Linux only.
func runQuiet(cmd *exec.Cmd) error { return cmd.Run() }
