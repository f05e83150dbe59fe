package proc

import (
	"os/exec"
	"syscall"
)

// DieWithParent sets the parent-death signal (SIGKILL; nothing off Linux). The kernel sends it when the
// thread that started the child exits; Go's runtime keeps its threads for
// the life of the process (mode locks none to a goroutine), so in practice
// when mode exits or is killed.
func DieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
