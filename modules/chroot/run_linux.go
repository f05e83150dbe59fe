package chroot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// childEnv carries the child's job, as JSON, to the re-executed binary.
const childEnv = "_MODE_CHROOT_CHILD"

// job is what the child sets up and runs.
type job struct {
	Root     string   `json:"root"`
	Binds    []Bind   `json:"binds,omitempty"`
	Env      []string `json:"env,omitempty"`
	Dir      string   `json:"dir,omitempty"`
	NoResolv bool     `json:"noResolv,omitempty"`
	NoSync   bool     `json:"noSync,omitempty"`
	Resolv   string   `json:"resolv"`
	Argv     []string `json:"argv"`
	Extra    int      `json:"extra,omitempty"` // descriptors 4... of the child, 3... of the command
}

// setupFailed is the child's exit code when it could not set the root up.
const setupFailed = 125

func init() {
	if j := os.Getenv(childEnv); j != "" {
		os.Exit(child(j)) // we are the re-executed child: never return to main
	}
}

func run(ctx context.Context, root string, opts Options, argv []string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	j, err := json.Marshal(job{Root: root, Binds: opts.Binds, Env: opts.Env, Dir: opts.Dir,
		NoResolv: opts.NoResolv, NoSync: opts.NoSync, Resolv: hostResolv, Argv: argv, Extra: len(opts.ExtraFiles)})
	if err != nil {
		return err
	}
	pr, pw, err := os.Pipe() // the child reports setup errors on it
	if err != nil {
		return err
	}
	defer pr.Close()
	cmd := exec.CommandContext(ctx, self)
	cmd.Args[0] = "mode-chroot"
	cmd.Env = []string{childEnv + "=" + string(j)}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
	cmd.ExtraFiles = append([]*os.File{pw}, opts.ExtraFiles...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
		Pdeathsig:  syscall.SIGKILL,
		Setsid:     !opts.Terminal, // no controlling terminal: see Options.Terminal
	}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		pw.Close()
		return fmt.Errorf("chroot %s: %w", root, err)
	}
	pw.Close()
	setupErr := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(pr)
		setupErr <- strings.TrimSpace(string(b))
	}()
	err = cmd.Wait()
	msg := <-setupErr
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case msg != "":
		return fmt.Errorf("chroot %s: %s", root, msg)
	case err == nil:
		return nil
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return &ExitError{Argv: argv, Code: exit.ExitCode()}
	}
	return fmt.Errorf("chroot %s: %w", root, err)
}
