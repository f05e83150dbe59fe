package fleet_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/registry/fleet"
	"github.com/mode-build/mode/report"
)

// TestInstallByRule: a rule with install: {auto: true} installs each
// machine it selects once, with no action: its first boot.ipxe queues an
// install action (the rule's chain and disk) that boot.ipxe, a boot report
// and a refused install leave pending and the successful install report
// alone fulfils; from then on (a restart too) the machine boots its disk,
// and no second install is queued. A reinstall action installs it again.
// Machines of other rules are never installed; auto on a local rule is a
// fault of the file.
func TestInstallByRule(t *testing.T) {
	now := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	state := filepath.Join(t.TempDir(), "fleet.json")
	file := write(t, t.TempDir(), `rules:
  - {name: d, chain: console}
  - name: db
    match: {mac: "52:54:00:00:00:08"}
    chain: extra
    install: {disk: {serial: D1}, auto: true}
`)
	fl, err := fleet.New(fleet.WithSiteFile(file, chains{}), fleet.WithState(state), fleet.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	const mac = "52:54:00:00:00:08"
	var id int
	for i := range 2 { // served twice: the same action, pending
		b, err := fl.BootIPXE(fleet.Machine{MAC: mac})
		if err != nil || b.Action == nil || b.Action.Kind != fleet.KindInstall || b.Action.Rule != "db" || b.Ref != "extra" || b.Local {
			t.Fatalf("boot %d: %+v %v, want the rule's install", i, b, err)
		}
		if !strings.HasPrefix(b.Args, "mode.install=serial:D1") {
			t.Errorf("args %q, want mode.install first", b.Args)
		}
		if i == 0 {
			id = b.Action.ID
		} else if b.Action.ID != id || b.Action.State != fleet.Pending {
			t.Errorf("boot %d: action %+v, want action %d pending", i, b.Action, id)
		}
	}
	rep := func(kind string, ok bool, rid uint64) *report.Report {
		r := &report.Report{Kind: kind, Machine: report.Machine{MAC: mac}, Ref: "10.0.2.2:5000/tiny:extra", OK: ok, ID: rid, Received: now}
		if !ok {
			r.Failed = &report.Failed{Step: "install", Message: "vda holds a GPT partition table"}
		}
		return r
	}
	fl.Reported(rep(report.KindBoot, true, 3)) // a boot is no install
	fl.Reported(rep(report.KindInstall, false, 4))
	if b, _ := fl.BootIPXE(fleet.Machine{MAC: mac}); b.Action == nil || b.Action.ID != id || b.Action.ErrorReport != 4 {
		t.Fatalf("after a boot and a refusal: %+v, want action %d again, its refusal kept", b, id)
	}
	now = now.Add(time.Minute)
	fl.Reported(rep(report.KindInstall, true, 5))
	m, _ := fl.Machine(mac)
	if len(m.Actions) != 1 || m.Actions[0].State != fleet.Done || m.Installed == nil ||
		*m.Installed != (fleet.Installed{Repo: "tiny", Ref: "extra", Action: id, Report: 5, Done: now}) {
		t.Fatalf("after the install report: actions %+v installed %+v", m.Actions, m.Installed)
	}
	disk := func(fl *fleet.Fleet, what string) {
		t.Helper()
		b, err := fl.BootIPXE(fleet.Machine{MAC: mac})
		if err != nil || !b.Local || b.Action != nil || b.Rule != "db" || !strings.Contains(b.Why, "installed tiny:extra by action") {
			t.Errorf("%s: %+v %v, want its disk", what, b, err)
		}
		if m, _ := fl.Machine(mac); m.Boot == nil || !m.Boot.Local || len(m.Actions) == 0 || m.Actions[len(m.Actions)-1].State != fleet.Done {
			t.Errorf("%s: the machine %+v, want its disk and no pending action", what, m)
		}
	}
	disk(fl, "after the install")
	disk(fl, "the next boot")
	fl.Flush()
	again, err := fleet.New(fleet.WithSiteFile(file, chains{}), fleet.WithState(state), fleet.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	disk(again, "after a restart")
	// A reinstall action installs it again; its report records the new install.
	a, err := again.AddAction(mac, fleet.KindReinstall, "")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := again.BootIPXE(fleet.Machine{MAC: mac}); b.Local || b.Action == nil || b.Action.ID != a.ID || b.Action.Rule != "" {
		t.Fatalf("reinstall: %+v", b)
	}
	again.Reported(rep(report.KindInstall, true, 6))
	if m, _ := again.Machine(mac); m.Installed == nil || m.Installed.Action != a.ID || m.Installed.Report != 6 {
		t.Errorf("after the reinstall: %+v", m.Installed)
	}
	disk(again, "after the reinstall")
	// The default rule installs nothing.
	if b, _ := again.BootIPXE(fleet.Machine{MAC: "52:54:00:00:00:09"}); b.Action != nil || b.Local || b.Rule != "d" {
		t.Errorf("a machine of the default rule: %+v", b)
	}
	_, err = fleet.Parse("site.yaml", []byte("rules:\n  - {name: d, chain: console}\n  - {name: x, match: {mac: \"52:54:00:00:00:01\"}, local: true, install: {disk: {serial: D1}, auto: true}}\n"), chains{})
	if err == nil || !strings.Contains(err.Error(), "site.yaml:3: rule x: install: auto installs the rule's chain") {
		t.Errorf("auto on a local rule: %v", err)
	}
}
