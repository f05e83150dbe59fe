package chroot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Bind makes Source (a host path) appear at Target (a path inside the root).
type Bind struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// Options tune Run.
type Options struct {
	Binds  []Bind
	Env    []string // added to a clean environment (PATH, HOME, TERM, LANG=C.UTF-8)
	Dir    string   // working directory inside the root; "/" by default
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// ExtraFiles are open to the command as descriptors 3, 4, ... (as
	// os/exec's ExtraFiles): apt-get's status descriptor, for one.
	ExtraFiles []*os.File
	// Terminal keeps mode's controlling terminal for the command (mode
	// shell). Without it the command runs in a session of its own, with no
	// controlling terminal: /dev/tty cannot be opened, whether mode runs
	// on a terminal or not, so a build step does the same on one and off.
	Terminal bool
	// NoResolv keeps the host's resolv.conf out of the root.
	NoResolv bool
	// NoSync makes the flush calls (fsync, fdatasync, sync_file_range,
	// syncfs, sync) of the command and its children no-ops returning 0
	// (package internal/nosync): a build's tree need not survive a crash.
	NoSync bool
}

// policyRC keeps package scripts from starting services (invoke-rc.d asks it).
const policyRC = "#!/bin/sh\n# mode: no services start during a build\nexit 101\n"

// hostResolv is the file bound over the root's /etc/resolv.conf.
var hostResolv = "/etc/resolv.conf"

// ExitError is a command that ran and failed.
type ExitError struct {
	Argv []string
	Code int
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("%s: exit status %d", strings.Join(e.Argv, " "), e.Code)
}

// Run runs argv inside root and waits for it. The command runs in a private
// mount, PID and UTS namespace: /proc, /sys, /dev, /dev/pts and /run are
// mounted for it, the host's resolv.conf is bound over /etc/resolv.conf,
// /usr/sbin/policy-rc.d refuses to start services, and opts' binds are made.
// All of it, and every process the command started, ends with the namespace
// when the command exits, fails or ctx is cancelled. Files Run had to create
// in root (the resolv.conf and policy-rc.d placeholders) are removed after.
func Run(ctx context.Context, root string, opts Options, argv ...string) (err error) {
	if len(argv) == 0 {
		return errors.New("chroot: no command")
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return fmt.Errorf("chroot: root %s is not a directory", root)
	}
	cleanup, err := prepare(root, opts)
	defer func() {
		if cerr := cleanup(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err != nil {
		return err
	}
	return run(ctx, root, opts, argv)
}

// prepare creates, inside root, the placeholders the child mounts over, and
// returns the function that removes the ones it created. Runs in one root
// at once (an install and the download ahead of it, debian.Apt) share a
// placeholder: the last of them to end removes it (placeholders), so none
// loses policy-rc.d while another still runs.
func prepare(root string, opts Options) (func() error, error) {
	var created []string
	cleanup := func() error {
		var errs []error
		for i := len(created) - 1; i >= 0; i-- {
			if err := placeholders.drop(created[i]); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
	create := func(p string, data string, mode os.FileMode) error {
		made, err := placeholders.take(root, p, data, mode)
		if made {
			created = append(created, p)
		}
		return err
	}
	if err := create(filepath.Join(root, "usr/sbin/policy-rc.d"), policyRC, 0o755); err != nil {
		return cleanup, fmt.Errorf("chroot: %w", err)
	}
	if !opts.NoResolv {
		if err := create(filepath.Join(root, "etc/resolv.conf"), "", 0o644); err != nil {
			return cleanup, fmt.Errorf("chroot: %w", err)
		}
	}
	return cleanup, nil
}

// placeholders counts the Runs of this process using each placeholder Run
// created.
var placeholders = placeholderSet{users: map[string]int{}}

type placeholderSet struct {
	mu    sync.Mutex
	users map[string]int
}

// take makes the placeholder p (in root) with data, unless it is there: a
// file of the root's own is left as it is (made false), one another Run made
// gets one user more (made true: drop it after).
func (s *placeholderSet) take(root, p, data string, mode os.FileMode) (made bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.users[p]; n > 0 {
		s.users[p] = n + 1
		return true, nil
	}
	if _, err := os.Lstat(p); err == nil || !errors.Is(err, os.ErrNotExist) {
		return false, err // there already: leave it as it is
	}
	if !realDir(root, filepath.Dir(p)) {
		return false, nil // no such directory in this root, or a link: leave it alone
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		return false, err
	}
	s.users[p] = 1
	return true, nil
}

// drop removes the placeholder p when its last user drops it.
func (s *placeholderSet) drop(p string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[p]--; s.users[p] > 0 {
		return nil
	}
	delete(s.users, p)
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// realDir reports whether dir, a path below root, is a directory reached
// without following a symbolic link (which could lead out of root).
func realDir(root, dir string) bool {
	rel, err := filepath.Rel(root, dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		return false
	}
	p := root
	for _, c := range strings.Split(rel, string(filepath.Separator)) {
		if c == "." {
			continue
		}
		p = filepath.Join(p, c)
		fi, err := os.Lstat(p)
		if err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}
