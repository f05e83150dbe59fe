package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/mode-build/mode/mount"
	"github.com/urfave/cli/v3"
)

// privateMounts runs the rest of a command that mounts (build, shell) in a
// mount namespace of its own (mount.Private), so that nothing it mounts
// outlives it, whatever kills it. done: the command ran in the re-executed
// process, which has ended; return err (its exit status).
//
// mount.Private re-executes the program with its arguments: only when they
// name this command (not when a test runs the command in its own process).
func privateMounts(c *cli.Command) (done bool, err error) {
	if !invokedAs(c.Name) {
		return false, nil
	}
	re, code, err := mount.Private()
	switch {
	case err != nil:
		return true, err
	case !re:
		return false, nil
	case code == 0:
		return true, nil
	}
	return true, cli.Exit("", code)
}

// invokedAs reports whether the program's arguments run the command name:
// it is their first word that is not a flag.
func invokedAs(name string) bool {
	for _, a := range os.Args[1:] {
		if !strings.HasPrefix(a, "-") {
			return a == name
		}
	}
	return false
}

// needRoot is the clear error of a command run without root that mounts,
// chroots or makes loop devices: it says why and what to do.
func needRoot(command string) error {
	if os.Geteuid() == 0 {
		return nil
	}
	return fmt.Errorf("%s needs root (loop devices, overlayfs, namespaces, chroot): run it as root or with sudo", command)
}
