package fleet_test

import (
	"testing"
	"time"

	"github.com/mode-build/mode/registry/fleet"
	"github.com/mode-build/mode/report"
)

// TestKnows: the site knows a machine its file names by MAC, one that sent
// a report, one with an action waiting; not one that only asked boot.ipxe.
func TestKnows(t *testing.T) {
	fl, err := fleet.New(fleet.WithSiteFile(write(t, t.TempDir(),
		"rules:\n  - name: d\n    chain: console\n  - name: a\n    match: {mac: \"52:54:00:00:00:01\"}\n    chain: extra\n"), chains{}))
	if err != nil {
		t.Fatal(err)
	}
	const named, reported, acted, asked = "52:54:00:00:00:01", "52:54:00:00:00:02", "52:54:00:00:00:03", "52:54:00:00:00:04"
	for _, mac := range []string{reported, asked} {
		if _, err := fl.BootIPXE(fleet.Machine{MAC: mac}); err != nil {
			t.Fatal(err)
		}
	}
	fl.Reported(&report.Report{Kind: report.KindBoot, Machine: report.Machine{MAC: reported}, OK: true, ID: 1, Received: time.Now()})
	if _, err := fl.AddAction(acted, "boot-once", "extra"); err != nil {
		t.Fatal(err)
	}
	for mac, want := range map[string]bool{named: true, reported: true, acted: true, asked: false, "52:54:00:00:00:05": false} {
		if got := fl.Knows(mac); got != want {
			t.Errorf("Knows(%s) = %v, want %v", mac, got, want)
		}
	}
}
