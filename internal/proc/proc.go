package proc

import (
	"context"
	"os/exec"
)

// Command is exec.CommandContext with a parent-death signal (SIGKILL) on
// Linux: the child is killed when mode dies, even by SIGKILL.
func Command(ctx context.Context, name string, arg ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, arg...)
	DieWithParent(cmd)
	return cmd
}
