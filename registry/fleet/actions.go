package fleet

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mode-build/mode/report"
)

// Action states.
const (
	Pending = "pending" // not yet fulfilled (boot.ipxe may have served it)
	Done    = "done"    // the boot report that fulfils it came
)

// Action is a one-shot next-boot action.
type Action struct {
	ID      int       `json:"id"`
	Kind    string    `json:"kind"`            // "boot-once", "install", "reinstall"
	Chain   string    `json:"chain,omitempty"` // as given; "" with Local
	Repo    string    `json:"repo,omitempty"`
	Ref     string    `json:"ref,omitempty"`
	Local   bool      `json:"local,omitempty"` // boot from the local disk
	State   string    `json:"state"`
	Created time.Time `json:"created"`
	Served  time.Time `json:"served,omitzero"` // boot.ipxe last answered with it
	Done    time.Time `json:"done,omitzero"`
	Report  uint64    `json:"report,omitempty"` // the report that fulfilled it
	// Install is the rule's install section an install action follows;
	// Error the last refusal or failure reported for it, by report ErrorReport.
	Install     *Install `json:"install,omitempty"`
	Error       string   `json:"error,omitempty"`
	ErrorReport uint64   `json:"error_report,omitempty"`
	// Rule is the rule that queued it (an install: {auto: true}); "" for
	// an action asked for through the API.
	Rule string `json:"rule,omitempty"`
}

func (r *Record) pending() *Action {
	for _, a := range r.Actions {
		if a.State == Pending {
			return a
		}
	}
	return nil
}

func (a *Action) target() string {
	if a.Local {
		return "local"
	}
	if a.Chain == "" {
		return a.Repo + ":" + a.Ref
	}
	return a.Chain
}

// Reported takes a stored report (its ID and time received set): the
// machine's facts, and the action it fulfils — a successful boot of the
// action's chain, or any report after a local boot was served.
func (fl *Fleet) Reported(rep *report.Report) {
	if rep.Machine.MAC == "" {
		return
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	rec := fl.record(rep.Machine.MAC)
	if rec.MAC == "" {
		return
	}
	rec.LastReport = rep.Received
	if rep.Facts != nil {
		rec.Facts = rep.Facts
	}
	if rep.Machine.Hostname != "" {
		rec.Hostname = rep.Machine.Hostname
	}
	a := rec.pending()
	if a == nil || a.Served.IsZero() {
		fl.saveLater()
		return
	}
	if isInstall(a.Kind) {
		if rep.Kind != report.KindInstall {
			fl.saveLater()
			return
		}
		if a.installReported(rep) { // else the refusal is kept on the action
			a.State, a.Done, a.Report = Done, rep.Received, rep.ID
			rec.installDone(a)
		}
		fl.save()
		return
	}
	if !a.Local && (rep.Kind != report.KindBoot || !rep.OK || !a.fulfilledBy(rep)) {
		fl.saveLater()
		return
	}
	a.State, a.Done, a.Report = Done, rep.Received, rep.ID
	fl.save()
}

// fulfilledBy reports whether rep booted the action's chain: its ref names
// the repository and tag or digest, or its digest is the action's.
func (a *Action) fulfilledBy(rep *report.Report) bool {
	_, path, _ := strings.Cut(rep.Ref, "/")
	return path == a.Repo+":"+a.Ref || path == a.Repo+"@"+a.Ref || rep.Digest != "" && rep.Digest == a.Ref
}

// KindBootOnce is the action that boots a chain, or the local disk, once.
const KindBootOnce = "boot-once"

// AddAction queues a one-shot action for machine mac: boot-once of target,
// a chain of the store or "local" (its own disk); or install (reinstall) of
// target, "" for its rule's chain, to the disk its rule's install section
// selects. It replaces a pending action of the machine (which is dropped,
// not marked done).
func (fl *Fleet) AddAction(mac, kind, target string) (*Action, error) {
	mac, err := NormalMAC(mac)
	if err != nil {
		return nil, err
	}
	if kind != KindBootOnce && !isInstall(kind) {
		return nil, fmt.Errorf("action %q: want %s, %s or %s", kind, KindBootOnce, KindInstall, KindReinstall)
	}
	a := &Action{Kind: kind, State: Pending, Local: target == "local" && kind == KindBootOnce}
	if isInstall(kind) {
		if target == "local" {
			return nil, fmt.Errorf("%s local: install a chain (REPO:TAG), or give none for the rule's", kind)
		}
		fl.mu.Lock()
		r, err := fl.installFor(mac)
		fl.mu.Unlock()
		if err != nil {
			return nil, err
		}
		in := *r.Install
		a.Install = &in
		if target == "" {
			if r.Local || r.Repo == "" {
				return nil, fmt.Errorf("%s: machine %s's rule %s names no chain: give the chain to install", kind, mac, r.Name)
			}
			a.Repo, a.Ref = r.Repo, r.Ref
		}
	}
	if !a.Local && a.Repo == "" {
		if target == "" {
			return nil, errors.New("boot-once: give a chain (REPO:TAG) or local")
		}
		a.Chain = target
		if fl.finder != nil {
			if a.Repo, a.Ref, err = fl.finder.Find(target); err != nil {
				return nil, fmt.Errorf("boot-once %s: %w", target, err)
			}
		} else if i := strings.LastIndex(target, ":"); i > 0 {
			a.Repo, a.Ref = target[:i], target[i+1:]
		} else {
			return nil, fmt.Errorf("boot-once %s: want REPO:TAG", target)
		}
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	rec := fl.record(mac)
	if rec.MAC == "" {
		return nil, fmt.Errorf("the fleet remembers %d machines already", MaxMachines)
	}
	var keep []*Action
	for _, old := range rec.Actions {
		if old.State != Pending {
			keep = append(keep, old)
		}
	}
	fl.nextID++
	a.ID, a.Created = fl.nextID, fl.now().UTC()
	rec.Actions = append(keep, a)
	if len(rec.Actions) > MaxActions {
		rec.Actions = rec.Actions[len(rec.Actions)-MaxActions:]
	}
	fl.save()
	return a, nil
}
