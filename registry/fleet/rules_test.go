package fleet_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/registry/fleet"
	"github.com/mode-build/mode/report"
)

// chains is a Finder of the chains tiny:console and tiny:extra.
type chains struct{}

func (chains) Find(name string) (string, string, error) {
	switch name {
	case "tiny:console", "console":
		return "tiny", "console", nil
	case "tiny:extra", "extra":
		return "tiny", "extra", nil
	}
	return "", "", errors.New("not found in the store")
}

const site = `# the example of docs/fleet.md
rules:
  - name: default
    chain: tiny:console
  - name: big
    match: {facts: {memory: ">= 8GiB"}}
    chain: tiny:extra
    noload: "^extra$"
  - name: web
    match: {hostname: "web-*"}
    chain: tiny:extra
    hostname: "web-{mac}"
  - name: one
    match: {mac: "52:54:00:00:00:01"}
    chain: tiny:extra
    args: quiet
    metadata: {role: db}
  - name: two
    match: {uuid: "00000000-0000-0000-0000-0000000000AA"}
    chain: tiny:console
  - name: three
    match: {serial: "SN-3"}
    local: true
  - name: big-disk
    match: {facts: {memory: ">= 8GiB", disk: ">= 100GB"}}
    chain: tiny:console
`

func write(t *testing.T, dir, text string) string {
	t.Helper()
	f := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestMatch(t *testing.T) {
	rs, err := fleet.Parse("site.yaml", []byte(site), chains{})
	if err != nil {
		t.Fatal(err)
	}
	big := &report.Facts{MemoryBytes: 16 << 30, Disks: []report.Disk{{Name: "vda", SizeBytes: 20e9}}}
	bigDisk := &report.Facts{MemoryBytes: 16 << 30, Disks: []report.Disk{{Name: "vda", SizeBytes: 20e9}, {Name: "vdb", SizeBytes: 200e9}}}
	for _, tc := range []struct {
		name string
		m    fleet.Machine
		rule string
		why  string
	}{
		{"unknown", fleet.Machine{MAC: "52:54:00:00:00:99"}, "default", "default"},
		{"mac", fleet.Machine{MAC: "52:54:00:00:00:01", Serial: "SN-3", Hostname: "web-1", Facts: big}, "one", "mac rule: mac is 52:54:00:00:00:01"},
		{"uuid over serial", fleet.Machine{MAC: "52:54:00:00:00:02", UUID: "00000000-0000-0000-0000-0000000000aa", Serial: "SN-3"}, "two", "uuid rule"},
		{"serial from the facts", fleet.Machine{MAC: "52:54:00:00:00:03", Facts: &report.Facts{Serial: "SN-3"}}, "three", "serial is SN-3"},
		{"facts over hostname", fleet.Machine{MAC: "52:54:00:00:00:04", Hostname: "web-4", Facts: big}, "big", "memory 17179869184 matches >= 8GiB"},
		{"more facts win", fleet.Machine{MAC: "52:54:00:00:00:05", Facts: bigDisk}, "big-disk", "disk 200000000000 matches >= 100GB"},
		{"small machine", fleet.Machine{MAC: "52:54:00:00:00:06", Hostname: "web-6", Facts: &report.Facts{MemoryBytes: 1 << 30}}, "web", "hostname web-6 matches web-*"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, why := rs.Match(tc.m)
			if r == nil || r.Name != tc.rule || !strings.Contains(why, tc.why) {
				t.Errorf("got rule %v (%s), want %s (%s)", r, why, tc.rule, tc.why)
			}
		})
	}
	r, _ := rs.Match(fleet.Machine{MAC: "52:54:00:00:00:0a", Hostname: "web-a"})
	if got := r.HostnameFor(fleet.Machine{MAC: "52:54:00:00:00:0a"}); got != "web-52540000000a" {
		t.Errorf("host name %q", got)
	}
}

// TestBadFiles: each fault is named with its file and line.
func TestBadFiles(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"malformed mac", "rules:\n  - name: a\n    match: {mac: \"52:54:00:zz\"}\n    chain: console\n", `site.yaml:2: rule a: mac "52:54:00:zz"`},
		{"missing chain", "rules:\n  - name: d\n    chain: console\n  - name: a\n    match: {mac: \"52:54:00:00:00:01\"}\n    chain: tiny:nosuch\n", "site.yaml:4: rule a: chain tiny:nosuch: not found"},
		{"unknown key", "rules:\n  - name: a\n    chian: console\n", "site.yaml:3: field chian not found"},
		{"unknown fact", "rules:\n  - name: a\n    match: {facts: {ram: 4GiB}}\n    chain: console\n", `site.yaml:2: rule a: facts: unknown fact "ram"`},
		{"bad size", "rules:\n  - name: a\n    match: {facts: {memory: \">= lots\"}}\n    chain: console\n", `memory ">= lots": want a size`},
		{"same mac", "rules:\n  - name: a\n    match: {mac: \"52:54:00:00:00:01\"}\n    chain: console\n  - name: b\n    match: {mac: 52-54-00-00-00-01}\n    chain: extra\n", "site.yaml:5: rule b ties with rule a (line 2)"},
		{"two defaults", "rules:\n  - name: a\n    chain: console\n  - name: b\n    chain: extra\n", "site.yaml:4: rule b ties with rule a (line 2)"},
		{"overlapping facts", "rules:\n  - name: a\n    match: {facts: {memory: \">= 4GiB\"}}\n    chain: console\n  - name: b\n    match: {facts: {memory: \"<= 8GiB\"}}\n    chain: extra\n", "site.yaml:5: rule b ties with rule a (line 2): both are facts rules"},
		{"overlapping hostnames", "rules:\n  - name: a\n    match: {hostname: \"web-*\"}\n    chain: console\n  - name: b\n    match: {hostname: \"web-1*\"}\n    chain: extra\n", "site.yaml:5: rule b ties with rule a"},
		{"missing kernel", "rules:\n  - name: a\n    chain: console\n    kernel: tiny:nosuch\n", "site.yaml:2: rule a: kernel tiny:nosuch: not found"},
		{"kernel and local", "rules:\n  - name: a\n    local: true\n    kernel: console\n", "site.yaml:2: rule a: kernel and local exclude each other"},
		{"chain and local", "rules:\n  - name: a\n    chain: console\n    local: true\n", "site.yaml:2: rule a: chain and local exclude each other"},
		{"a line break in args", "rules:\n  - name: a\n    chain: console\n    args: \"x\\nboot\"\n", "site.yaml:2: rule a: args"},
		{"bad host name", "rules:\n  - name: a\n    chain: console\n    hostname: \"node_{ip}\"\n", `site.yaml:2: rule a: hostname "node_{ip}"`},
		{"ssh key of no known type", "rules:\n  - name: a\n    chain: console\n    ssh_keys: [\"ssh-foo AAAA x\"]\n", `site.yaml:2: rule a: ssh_keys[0] "ssh-foo AAAA x": key type "ssh-foo"`},
		{"ssh key data of another type", "rules:\n  - name: a\n    chain: console\n    ssh_keys: [\"ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIGXkOhMJJwLKAt9L3ChUqChHrtuZxHz2vpgpgTINfLd7\"]\n", "key data is not a ssh-rsa key"},
		{"ssh key not base64", "rules:\n  - name: a\n    chain: console\n    ssh_keys: [\"ssh-ed25519 not-base64!\"]\n", "ssh_keys[0]"},
		{"ssh key alone", "rules:\n  - name: a\n    chain: console\n    ssh_keys: [\"AAAAC3NzaC1lZDI1NTE5AAAAIGXkOhMJJwLKAt9L3ChUqChHrtuZxHz2vpgpgTINfLd7\"]\n", "want TYPE BASE64 [COMMENT]"},
		{"ssh keys on two lines", "rules:\n  - name: a\n    chain: console\n    ssh_keys: [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGXkOhMJJwLKAt9L3ChUqChHrtuZxHz2vpgpgTINfLd7\\nssh-ed25519 AAAA\"]\n", "a control character"},
		{"not yaml", "rules: [\n", "site.yaml:"},
		{"empty", "", "site.yaml:1: no rules"},
		{"empty rule", "rules:\n  - name: a\n    chain: console\n  -\n", "site.yaml:4: an empty rule"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fleet.Parse("site.yaml", []byte(tc.text), chains{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
	// Exclusive selectors of one level are no tie.
	ok := "rules:\n  - name: a\n    match: {facts: {memory: \"< 4GiB\"}}\n    chain: console\n  - name: b\n    match: {facts: {memory: \">= 4GiB\"}}\n    chain: extra\n" +
		"  - name: c\n    match: {hostname: \"web-*\"}\n    chain: console\n  - name: d\n    match: {hostname: \"db-*\"}\n    chain: extra\n"
	if _, err := fleet.Parse("site.yaml", []byte(ok), chains{}); err != nil {
		t.Errorf("exclusive rules: %v", err)
	}
}

// TestReloadKeepsLastGood: a broken edit leaves the last good rules in
// force and shows its error; a good one replaces them.
func TestReloadKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "rules:\n  - name: first\n    chain: console\n")
	fl, err := fleet.New(fleet.WithSiteFile(file, chains{}))
	if err != nil {
		t.Fatal(err)
	}
	boots := func() string {
		b, err := fl.BootIPXE(fleet.Machine{MAC: "52:54:00:00:00:01"})
		if err != nil {
			t.Fatal(err)
		}
		return b.Rule + " " + b.Ref
	}
	if got := boots(); got != "first console" {
		t.Fatalf("boots %q", got)
	}
	write(t, dir, "rules:\n  - name: second\n    match: {mac: nonsense}\n    chain: extra\n")
	if err := fl.Reload(); err == nil {
		t.Fatal("a broken file reloaded")
	}
	st := fl.Status()
	if got := boots(); got != "first console" || !strings.Contains(st.Error, "site.yaml:2: rule second: mac \"nonsense\"") || st.Rules[0].Name != "first" {
		t.Errorf("after a broken edit: boots %q, status %+v", got, st)
	}
	write(t, dir, "rules:\n  - name: third\n    chain: extra\n")
	if err := fl.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := boots(); got != "third extra" || fl.Status().Error != "" {
		t.Errorf("after a good edit: boots %q, status %+v", got, fl.Status())
	}
	// A broken file at the start is an error of New.
	write(t, dir, "rules: [")
	if _, err := fleet.New(fleet.WithSiteFile(file, chains{})); err == nil {
		t.Error("New took a broken file")
	}
}

// TestActionClearedByReport: boot.ipxe serves a pending action again and
// again; only the successful boot report of its chain clears it.
func TestActionClearedByReport(t *testing.T) {
	now := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	state := filepath.Join(t.TempDir(), "fleet.json")
	fl, err := fleet.New(fleet.WithSiteFile(write(t, t.TempDir(), "rules:\n  - name: d\n    chain: console\n"), chains{}),
		fleet.WithState(state), fleet.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	const mac = "52:54:00:00:00:07"
	if _, err := fl.AddAction(mac, "boot-once", "tiny:nosuch"); err == nil {
		t.Error("an action of a missing chain was queued")
	}
	if _, err := fl.AddAction("nonsense", "boot-once", "extra"); err == nil {
		t.Error("an action for a bad MAC was queued")
	}
	a, err := fl.AddAction(mac, "boot-once", "extra")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		b, err := fl.BootIPXE(fleet.Machine{MAC: mac})
		if err != nil || b.Ref != "extra" || b.Action == nil || b.Action.State != fleet.Pending {
			t.Fatalf("boot %+v %v: want the action's chain, pending", b, err)
		}
	}
	rep := func(ok bool, ref string) *report.Report {
		r := &report.Report{Kind: report.KindBoot, Machine: report.Machine{MAC: mac}, Ref: "10.0.2.2:5000/" + ref, OK: ok, ID: 9, Received: now}
		if !ok {
			r.Failed = &report.Failed{Step: "fetch", Message: "x"}
		}
		return r
	}
	fl.Reported(rep(false, "tiny:extra")) // failed: the action stays
	fl.Reported(rep(true, "tiny:console"))
	if m, _ := fl.Machine(mac); m.Actions[0].State != fleet.Pending {
		t.Fatalf("cleared by a failed boot or another chain: %+v", m.Actions[0])
	}
	fl.Reported(rep(true, "tiny:extra"))
	m, _ := fl.Machine(mac)
	if got := m.Actions[0]; got.ID != a.ID || got.State != fleet.Done || got.Report != 9 || !got.Done.Equal(now) {
		t.Fatalf("after the report: %+v", got)
	}
	if b, _ := fl.BootIPXE(fleet.Machine{MAC: mac}); b.Rule != "d" || b.Ref != "console" {
		t.Errorf("after the action: %+v, want the rule again", b)
	}
	// The state survives a restart.
	again, err := fleet.New(fleet.WithState(state))
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := again.Machine(mac); !ok || m.Actions[0].State != fleet.Done {
		t.Errorf("after a restart: %+v", m)
	}
	// local: boot.ipxe says exit; the machine's next request is after its disk boot.
	if _, err := fl.AddAction(mac, "boot-once", "local"); err != nil {
		t.Fatal(err)
	}
	if b, _ := fl.BootIPXE(fleet.Machine{MAC: mac}); !b.Local {
		t.Errorf("local action: %+v", b)
	}
	if b, _ := fl.BootIPXE(fleet.Machine{MAC: mac}); b.Local || b.Rule != "d" {
		t.Errorf("after the local boot: %+v", b)
	}
}
