package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v3"
)

func TestAptListsMaxAge(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want time.Duration
		err  string
	}{
		{nil, time.Hour, ""},
		{[]string{"--apt-lists-max-age", "6h"}, 6 * time.Hour, ""},
		{[]string{"--apt-lists-max-age", "0"}, -1, ""},
		{[]string{"--update"}, -1, ""},
		{[]string{"--apt-lists-max-age", "-5m"}, 0, "--apt-lists-max-age -5m0s: want 0"},
	} {
		var got time.Duration
		var err error
		cmd := &cli.Command{Name: "build", Flags: aptListsFlags(), Action: func(_ context.Context, c *cli.Command) error {
			got, err = aptListsMaxAge(c)
			return nil
		}}
		if rerr := cmd.Run(context.Background(), append([]string{"build"}, tc.args...)); rerr != nil {
			t.Fatalf("%q: %v", tc.args, rerr)
		}
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %v, %v; want %v", tc.args, got, err, tc.want)
		}
	}
}
