package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	docs "github.com/urfave/cli-docs/v3"
	"github.com/urfave/cli/v3"
)

// manCommand writes mode's man page, generated from the command definitions
// (make man).
func manCommand() *cli.Command {
	return &cli.Command{
		Name:   "man",
		Usage:  "write the man page mode.1, generated from the commands, into DIR",
		Hidden: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Value: "man", Usage: "the output `DIR`"},
		},
		Action: func(ctx context.Context, c *cli.Command) error {
			page, err := docs.ToManWithSection(c.Root(), 1)
			if err != nil {
				return fmt.Errorf("man: %w", err)
			}
			if err := os.MkdirAll(c.String("out"), 0o755); err != nil {
				return err
			}
			file := filepath.Join(c.String("out"), "mode.1")
			if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
				return err
			}
			fmt.Println(file)
			return nil
		},
	}
}
