package lazy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// Start starts the lazy server (this binary again, Env set) with spec, its
// output to out, and waits for its answer. The server outlives the caller:
// it is in a session of its own and is not waited for. With Ready.NoRange
// or an error, the server has exited (or is exiting) leaving nothing behind.
func Start(spec Spec, out *os.File) (Ready, error) {
	in, err := json.Marshal(spec)
	if err != nil {
		return Ready{}, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return Ready{}, err
	}
	defer r.Close()
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), Env+"=1")
	cmd.Stdin = strings.NewReader(string(in))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return Ready{}, fmt.Errorf("lazy server: %w", err)
	}
	w.Close()
	go cmd.Wait() // it is not waited for: it outlives this process
	var ready Ready
	if err := json.NewDecoder(r).Decode(&ready); err != nil {
		return Ready{}, fmt.Errorf("lazy server: no answer (%v); its output (%s) says why", err, out.Name())
	}
	if ready.Error != "" {
		return Ready{}, fmt.Errorf("lazy server: %s", ready.Error)
	}
	ready.Pid = cmd.Process.Pid
	return ready, nil
}
