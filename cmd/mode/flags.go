package main

import (
	"fmt"

	"github.com/mode-build/mode/layers"
	"github.com/urfave/cli/v3"
)

// compressionUsage tells the --compression syntax.
const compressionUsage = "squashfs compression `NAME[:LEVEL]`: zstd[:1-22], gzip[:1-9], xz, lz4[:hc]"

// compressionFlag is the --compression flag of build, shell --save, save
// and pack (what names the layers' squashfs compression and level).
func compressionFlag(what string) *cli.StringFlag {
	return &cli.StringFlag{Name: "compression", Value: layers.DefaultCompression, Usage: compressionUsage + what}
}

// checkCompression checks the --compression flag of command cmd.
func checkCompression(cmd string, c *cli.Command) error {
	if err := layers.CheckCompression(c.String("compression")); err != nil {
		return fmt.Errorf("%s --compression: %w", cmd, err)
	}
	return nil
}
