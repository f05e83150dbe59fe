package main

import (
	"context"
	"fmt"

	"github.com/mode-build/mode/registry/store"
	"github.com/urfave/cli/v3"
)

func gcCommand() *cli.Command {
	return &cli.Command{
		Name:  "gc",
		Usage: "remove the blobs of the store that no manifest of any repository references",
		Description: "Blobs written or found present by a push within --grace are kept, so gc is safe\n" +
			"while mode serve takes pushes. Temporary files older than --grace go too.",
		Flags: []cli.Flag{storeFlag(),
			&cli.DurationFlag{Name: "grace", Value: store.DefaultGrace, Usage: "keep unreferenced blobs younger than `DURATION`"}},
		Action: func(ctx context.Context, c *cli.Command) error {
			if c.Args().Len() != 0 {
				return fmt.Errorf("gc: takes no arguments")
			}
			s, err := store.Open(c.String("store"))
			if err != nil {
				return err
			}
			res, err := s.GC(ctx, c.Duration("grace"))
			if err != nil {
				return err
			}
			fmt.Printf("removed %d blobs (%d bytes)", res.Blobs, res.Bytes)
			if res.Temp > 0 {
				fmt.Printf(" and %d stale temporary files (%d bytes)", res.Temp, res.TempBytes)
			}
			fmt.Println()
			if res.Kept > 0 {
				fmt.Printf("kept %d unreferenced blobs younger than %s\n", res.Kept, c.Duration("grace"))
			}
			return nil
		},
	}
}
