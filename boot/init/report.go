package modeinit

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/mode-build/mode/report"
)

// record keeps a step's duration for the boot report: in the place a task
// took when it started (reserve), else at the end. Steps are in the order
// they started; tasks overlap the steps after them.
func (b *boot) record(name string, d time.Duration, summary string, err error) {
	s := report.Step{Name: name, MS: d.Milliseconds(), Summary: summary}
	if err != nil {
		s.Failed = true
	}
	for i, t := range b.timings {
		if t.Name == name && t.MS == pending {
			b.timings[i] = s
			return
		}
	}
	b.timings = append(b.timings, s)
}

// pending marks the place of a task that has not ended.
const pending = -1

// reserve keeps the report's place for a step or task starting now or soon
// (unless it has one).
func (b *boot) reserve(names ...string) {
	timingsMu.Lock()
	defer timingsMu.Unlock()
next:
	for _, name := range names {
		for _, t := range b.timings {
			if t.Name == name && t.MS == pending {
				continue next
			}
		}
		b.timings = append(b.timings, report.Step{Name: name, MS: pending})
	}
}

// finished are the steps that ended, for the report.
func (b *boot) finished() []report.Step {
	timingsMu.Lock()
	defer timingsMu.Unlock()
	var out []report.Step
	for _, s := range b.timings {
		if s.MS != pending {
			out = append(out, s)
		}
	}
	return out
}

// sendReport tells the server the chain came from how the boot went: failed
// names the step that failed with err, "" when every step succeeded. It gives
// up after report.Timeout (mode.report.timeout) and never fails the boot. Only
// boots from a registry report, and only with a token (mode.report, else
// mode.token).
func (b *boot) sendReport(failed string, err error) {
	token := b.p.reportToken
	if token == "" {
		token = b.p.token
	}
	if b.p.from != "" || b.p.ref == "" || token == "" || b.p.reportToken == "0" {
		return
	}
	url, uerr := report.URL(b.p.ref, b.p.insecure)
	if uerr != nil {
		return
	}
	m, facts := report.Machine{}, b.facts
	if b.machine != nil { // a simulated machine (storm_bench_test.go)
		m = *b.machine
	} else {
		m, facts = report.ThisMachine(), report.Gather("/")
	}
	kind := report.KindBoot
	if b.p.install != nil {
		kind = report.KindInstall
	}
	r := &report.Report{Kind: kind, Machine: m, Ref: b.p.ref, Steps: b.finished(), OK: err == nil, Time: time.Now().UTC(),
		Offline: b.offline != nil, Facts: facts}
	if b.dl != nil {
		r.Chain, r.Digest = b.dl.name, b.dl.digest
	}
	if err != nil {
		msg := err.Error()
		if len(msg) > report.MaxMessage {
			msg = msg[:report.MaxMessage]
		}
		r.Failed = &report.Failed{Step: failed, Message: strings.ToValidUTF8(msg, "?")}
	}
	if b.offline != nil {
		b.queueReport(r) // the server did not answer the pull: the next boot sends it
		return
	}
	if q := b.queued; q != nil {
		b.queued = nil
		switch serr := report.Send(context.Background(), url, token, q, b.p.reportTimeout); {
		case errors.Is(serr, report.ErrNotTaken):
			b.debugf("boot report of the earlier offline boot: %v", serr)
		case serr != nil:
			b.logf("boot report of the earlier offline boot not sent (%v)", serr)
			b.queueReport(q)
		default:
			b.logf("boot report of the earlier offline boot sent")
		}
	}
	t := time.Now()
	serr := report.Send(context.Background(), url, token, r, b.p.reportTimeout)
	if errors.Is(serr, report.ErrNotTaken) {
		b.debugf("boot report: %v", serr)
		return
	}
	if serr != nil {
		b.logf("boot report not sent (%v), after %s", serr, seconds(time.Since(t)))
		return
	}
	b.debugf("boot report sent to %s in %s", url, seconds(time.Since(t)))
}
