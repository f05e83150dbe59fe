package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/report"
	"github.com/opencontainers/go-digest"
	"github.com/urfave/cli/v3"
)

// reportSave tells the mode serve pushed to about a save (docs/site.md):
// with the push token (--token, else the boot's), over plain HTTP when the
// push was. A report that fails is a note on stderr, never a failed save.
func reportSave(ctx context.Context, c *cli.Command, run, ref string, d digest.Digest, meta layers.Meta, b *layers.Booted, push time.Duration) {
	token := c.String("token")
	if token == "" {
		data, _ := os.ReadFile(layers.TokenFile(run))
		token = strings.TrimSpace(string(data))
	}
	if token == "" {
		return
	}
	url, err := report.URL(ref, c.Bool("insecure") || b.Insecure)
	if err != nil {
		return
	}
	if err := report.Send(ctx, url, token, saveReport(ref, d, meta, push), 0); err != nil && !errors.Is(err, report.ErrNotTaken) {
		fmt.Fprintf(os.Stderr, "mode save: note: the save report was not sent: %v\n", err)
	}
}

// saveReport is the report of a save of meta pushed as ref (digest d) in push.
func saveReport(ref string, d digest.Digest, meta layers.Meta, push time.Duration) *report.Report {
	return &report.Report{
		Kind: report.KindSave, Machine: report.ThisMachine(), Chain: strings.TrimSuffix(meta.File, ".sqfs"),
		Ref: ref, Digest: d.String(), OK: true, Time: time.Now().UTC(),
		Steps: []report.Step{
			{Name: "squash", MS: int64(meta.Seconds * 1000), Summary: fmt.Sprintf("%s, %s", meta.File, layers.Size(meta.Size))},
			{Name: "push", MS: push.Milliseconds()},
		},
	}
}
