package fleet

import (
	"errors"
	"fmt"
	"time"
)

// Installs that come from a rule rather than an action (docs/fleet.md,
// "Install to disk"): a rule whose install section says auto: true installs
// each machine it selects onto its disk once, by the same install action an
// operator would queue, and boots it from that disk afterwards. The machine
// is installed when an install action of it was done (Record.Installed); a
// later change of the rule's chain installs nothing (reinstall does).

// Installed is the last install of a machine that its install report
// confirmed: the chain written, by which action and report, and when.
type Installed struct {
	Repo   string    `json:"repo"`
	Ref    string    `json:"ref"`
	Action int       `json:"action"`
	Report uint64    `json:"report"`
	Done   time.Time `json:"done"`
}

// errAutoLocal is a rule that would install with no chain to install.
var errAutoLocal = errors.New("install: auto installs the rule's chain: a local rule has none")

// checkAuto refuses an install section with auto on a rule without a chain.
func (r *Rule) checkAuto() error {
	if r.Install != nil && r.Install.Auto && (r.Local || r.Chain == "") {
		return errAutoLocal
	}
	return nil
}

// autoInstall queues the install action of machine rec when its rule
// installs by itself and nothing has installed it yet (fl.mu held); it
// reports whether it queued one. A machine the fleet does not remember
// (MaxMachines) is never installed this way: its install could not be
// recorded, and it would install again at every boot.
func (fl *Fleet) autoInstall(rec *Record) bool {
	if fl.rules == nil || fl.rules.index == nil || !fl.rules.index.auto || // no rule installs: no second match
		rec.Installed != nil || rec.pending() != nil || fl.machines[rec.MAC] != rec {
		return false
	}
	r, _ := fl.match(rec.Machine)
	if r == nil || r.Install == nil || !r.Install.Auto || r.Local || r.Repo == "" {
		return false
	}
	in := *r.Install
	fl.nextID++
	rec.Actions = append(rec.Actions, &Action{ID: fl.nextID, Kind: KindInstall, Repo: r.Repo, Ref: r.Ref, State: Pending,
		Created: fl.now().UTC(), Install: &in, Rule: r.Name})
	if len(rec.Actions) > MaxActions {
		rec.Actions = rec.Actions[len(rec.Actions)-MaxActions:]
	}
	return true
}

// installedBoot is how a machine installed by its auto-install rule boots:
// from its disk (iPXE exit); nil for any other machine or rule.
func installedBoot(rec *Record, r *Rule, why string) *Boot {
	if rec.Installed == nil || r.Install == nil || !r.Install.Auto {
		return nil
	}
	i := rec.Installed
	return &Boot{Rule: r.Name, Local: true, Repo: i.Repo, Ref: i.Ref,
		Why: fmt.Sprintf("%s; installed %s:%s by action %d at %s: its disk", why, i.Repo, i.Ref, i.Action, i.Done.Format(time.RFC3339))}
}

// installDone records the install action a, just done, on its machine.
func (rec *Record) installDone(a *Action) {
	rec.Installed = &Installed{Repo: a.Repo, Ref: a.Ref, Action: a.ID, Report: a.Report, Done: a.Done}
}
