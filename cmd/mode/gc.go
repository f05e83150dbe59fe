package main

import (
	"context"
	"fmt"

	"github.com/mode-build/mode/registry"
	"github.com/urfave/cli/v3"
)

func gcCommand() *cli.Command {
	return &cli.Command{
		Name:  "gc",
		Usage: "remove the blobs of the store that no tagged manifest references",
		Flags: []cli.Flag{storeFlag()},
		Action: func(ctx context.Context, c *cli.Command) error {
			if c.Args().Len() != 0 {
				return fmt.Errorf("gc: takes no arguments")
			}
			s, err := registry.OpenStore(c.String("store"))
			if err != nil {
				return err
			}
			res, err := s.GC(ctx)
			if err != nil {
				return err
			}
			fmt.Printf("removed %d blobs (%d bytes)\n", res.Blobs, res.Bytes)
			return nil
		},
	}
}
