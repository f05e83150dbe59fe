package fleet_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/registry/fleet"
	"github.com/mode-build/mode/report"
)

// TestInstallAction: an install action takes its disk from the machine's
// rule, puts mode.install on the kernel line, stays pending through a
// refusal (kept on the action) and a boot report, and is done by the
// successful install report of its chain.
func TestInstallAction(t *testing.T) {
	now := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	fl, err := fleet.New(fleet.WithSiteFile(write(t, t.TempDir(), `rules:
  - {name: d, chain: console}
  - name: db
    match: {mac: "52:54:00:00:00:08"}
    chain: extra
    install: {disk: {serial: "DISK 1", min_size: 64MiB}, wipe: true}
`), chains{}), fleet.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	const mac = "52:54:00:00:00:08"
	if _, err := fl.AddAction("52:54:00:00:00:09", "install", ""); err == nil || !strings.Contains(err.Error(), "no install section") {
		t.Errorf("a machine whose rule has no install section: %v", err)
	}
	if _, err := fl.AddAction(mac, "install", "local"); err == nil {
		t.Error("install local was queued")
	}
	a, err := fl.AddAction(mac, "reinstall", "")
	if err != nil {
		t.Fatal(err)
	}
	fl.BootIPXE(fleet.Machine{MAC: mac}) // served twice: still pending
	b, err := fl.BootIPXE(fleet.Machine{MAC: mac})
	if err != nil || b.Ref != "extra" || b.Action == nil || b.Action.ID != a.ID || b.Action.State != fleet.Pending {
		t.Fatalf("boot %+v %v", b, err)
	}
	if want := "mode.install=serial:DISK%201,min_size:67108864 mode.install.wipe"; !strings.HasPrefix(b.Args, want) {
		t.Errorf("args %q, want %q first", b.Args, want)
	}
	rep := func(kind string, ok bool, id uint64) *report.Report {
		r := &report.Report{Kind: kind, Machine: report.Machine{MAC: mac}, Ref: "10.0.2.2:5000/tiny:extra", OK: ok, ID: id, Received: now}
		if !ok {
			r.Failed = &report.Failed{Step: "install", Message: "vda holds a GPT partition table"}
		}
		return r
	}
	fl.Reported(rep(report.KindInstall, false, 3))
	fl.Reported(rep(report.KindBoot, true, 4)) // a boot is no install
	m, _ := fl.Machine(mac)
	if got := m.Actions[0]; got.State != fleet.Pending || got.ErrorReport != 3 || !strings.Contains(got.Error, "GPT") {
		t.Fatalf("after a refusal and a boot: %+v", got)
	}
	fl.Reported(rep(report.KindInstall, true, 5))
	m, _ = fl.Machine(mac)
	if got := m.Actions[0]; got.ID != a.ID || got.State != fleet.Done || got.Report != 5 {
		t.Fatalf("after the install report: %+v", got)
	}
	if b, _ := fl.BootIPXE(fleet.Machine{MAC: mac}); b.Rule != "db" || strings.Contains(b.Args, "mode.install") {
		t.Errorf("after the install: %+v, want the rule without mode.install", b)
	}
	// A bad install section is a fault of the file, at its line.
	_, err = fleet.Parse("site.yaml", []byte("rules:\n  - {name: d, chain: console}\n  - {name: x, match: {mac: \"52:54:00:00:00:01\"}, chain: extra, install: {disk: {}}}\n"), chains{})
	if err == nil || !strings.Contains(err.Error(), "site.yaml:3: rule x: install: the disk selector is empty") {
		t.Errorf("empty selector: %v", err)
	}
	_, err = fleet.Parse("site.yaml", []byte("rules:\n  - {name: d, chain: console, install: {disk: {min_size: lots}}}\n"), chains{})
	if err == nil || !strings.Contains(err.Error(), `site.yaml:2: rule d: install: disk min_size "lots"`) {
		t.Errorf("bad size: %v", err)
	}
}
