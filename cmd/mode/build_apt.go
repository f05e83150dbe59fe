package main

import (
	"fmt"
	"time"

	"github.com/mode-build/mode/modules/debian"
	"github.com/urfave/cli/v3"
)

// aptListsFlags are mode build's flags for the shared apt lists: how old
// lists may be and still be used, and an update whatever their age.
func aptListsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "apt-lists-max-age", Value: debian.DefaultListsMaxAge,
			Usage: "use the shared apt lists of a set of sources with no apt-get update when an earlier build updated them less than `AGE` ago (0: update in every build)"},
		&cli.BoolFlag{Name: "update", Usage: "run apt-get update whatever the age of the shared apt lists"},
	}
}

// aptListsMaxAge returns the Maker's AptListsMaxAge for c's flags: negative
// for an update in every build.
func aptListsMaxAge(c *cli.Command) (time.Duration, error) {
	age := c.Duration("apt-lists-max-age")
	switch {
	case age < 0:
		return 0, fmt.Errorf("build: --apt-lists-max-age %s: want 0 (update in every build) or more", age)
	case age == 0 || c.Bool("update"):
		return -1, nil
	}
	return age, nil
}
