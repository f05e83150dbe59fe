package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mode-build/mode/boot/activate"
	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/report"
)

// reportActivation tells the mode serve the system booted from about an
// activation of arg, done (a) or refused (err), with the boot's push token
// (docs/site.md). Systems booted from media, or without a token, do not
// report; a report that fails is a note on stderr, never a failed activation.
func reportActivation(ctx context.Context, run string, insecure bool, arg string, a *activate.Activated, err error, took time.Duration) {
	b, rerr := layers.ReadBooted(run)
	if rerr != nil {
		return
	}
	data, _ := os.ReadFile(layers.TokenFile(run))
	token := strings.TrimSpace(string(data))
	url, uerr := report.URL(b.Ref, insecure || b.Insecure)
	if token == "" || uerr != nil {
		return
	}
	r := activationReport(b, arg, a, err, took)
	if serr := report.Send(ctx, url, token, r, 0); serr != nil && !errors.Is(serr, report.ErrNotTaken) {
		fmt.Fprintf(os.Stderr, "mode activate: note: the report was not sent: %v\n", serr)
	}
}

// activationReport is the report of an activation of arg on the booted
// chain b: one step, "activate", which failed with err when a is nil.
func activationReport(b *layers.Booted, arg string, a *activate.Activated, err error, took time.Duration) *report.Report {
	r := &report.Report{Kind: report.KindActivate, Machine: report.ThisMachine(), Chain: b.Name, Ref: b.Ref, Digest: b.Digest,
		OK: err == nil, Time: time.Now().UTC()}
	step := report.Step{Name: "activate", MS: took.Milliseconds()}
	if err != nil {
		step.Failed = true
		msg := fmt.Sprintf("%s: %v", arg, err)
		if len(msg) > report.MaxMessage {
			msg = msg[:report.MaxMessage]
		}
		r.Failed = &report.Failed{Step: "activate", Message: strings.ToValidUTF8(msg, "?")}
	} else if a != nil {
		step.Summary = fmt.Sprintf("%s %s on /%s", a.Module.Meta.Name, a.Module.Meta.Digest, strings.Join(a.Module.Dirs, " /"))
	}
	r.Steps = []report.Step{step}
	return r
}
