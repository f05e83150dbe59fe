package main

import (
	"strings"

	"github.com/mode-build/mode/modules"
	"github.com/urfave/cli/v3"
)

// archFlag is build's --arch: the architecture to build for.
func archFlag() cli.Flag {
	return &cli.StringFlag{Name: "arch", Usage: "build for `ARCH` (" + strings.Join(modules.Arches, ", ") +
		"; default: what the modules pin with arch:, else the host's); another than the host's runs steps under QEMU user emulation, layers go to --out/ARCH and chains are tagged NAME-ARCH"}
}
