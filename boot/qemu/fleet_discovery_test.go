package qemu_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/fleet"
)

// kernelMemory is the guest kernel's boot line "Memory: AVAILK/TOTALK
// available"; memTotal is /proc/meminfo's line, which tiny's rcS prints on a
// fleet machine.
var (
	kernelMemory = regexp.MustCompile(`Memory: (\d+)K/(\d+)K available`)
	memTotal     = regexp.MustCompile(`MemTotal: +(\d+) kB`)
)

// TestFleetDiscovery: an unknown machine (768 MiB, two CPUs, two disks of
// different sizes, an SMBIOS serial) boots the default chain and is thereby
// discovered: its facts are in the API exactly, and its next boot follows
// the facts rule they select. Then the site file, edited while mode serve
// runs, changes its next boot; a broken edit keeps those rules serving and
// is reported by GET /api/fleet.
func TestFleetDiscovery(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU three times: not with -short")
	}
	testutil.RequiresRoot(t)
	testutil.RequiresQEMU(t)
	storeDir := filepath.Join(t.TempDir(), "store")
	testutil.BuildTiny(t, filepath.Join(t.TempDir(), "out"), storeDir)
	dir := t.TempDir()
	siteFile := filepath.Join(dir, "site.yaml")
	writeRules := func(text string) {
		t.Helper()
		if err := os.WriteFile(siteFile, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeRules(`rules:
  - {name: default, chain: tiny:console}
  - {name: big, match: {facts: {disks: 2, cpus: ">= 2"}}, chain: tiny:extra}
`)
	base := modeServe(t, storeDir, "s3cret", "--site-file", siteFile, "--advertise", "10.0.2.2",
		"--kernel", testutil.Kernel(t).Vmlinuz, "--initrd", testutil.Initramfs(t))
	port := base[strings.LastIndex(base, ":")+1:]
	const mac, serial = "52:54:00:00:0f:21", "DISCOVER-1"
	sizes := map[string]int64{"vda": 64 << 20, "vdb": 96 << 20}
	var disks []qemu.Disk
	for _, name := range []string{"vda", "vdb"} {
		f := filepath.Join(dir, name+".img")
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(f, sizes[name]); err != nil {
			t.Fatal(err)
		}
		disks = append(disks, qemu.Disk{File: f})
	}
	const consoleMarker = "MODE-TINY-FAIL: [test -f /etc/extra.conf]"
	boot := func(t *testing.T, want string) string {
		t.Helper()
		return fleetBoot(t, qemu.Machine{MemoryMiB: 768, CPUs: 2, MAC: mac, Disks: disks, BootURL: "http://10.0.2.2:" + port + "/boot/boot.ipxe",
			Extra: []string{"-smbios", "type=1,serial=" + serial}}, want)
	}

	// Unknown: the default rule; its report tells the server what it is.
	console := boot(t, consoleMarker)
	checkMachineJSON(t, console, fleet.MachineMeta{MAC: mac, Serial: serial, Rule: "default", Chain: "tiny:console"})
	var v fleet.MachineView
	apiGet(t, base+"/api/fleet/machines/"+mac, &v)
	f := v.Facts
	if f == nil {
		t.Fatalf("no facts: %+v", v)
	}
	if f.CPUs != 2 || f.Serial != serial {
		t.Errorf("cpus %d, serial %q", f.CPUs, f.Serial)
	}
	got := map[string]int64{}
	for _, d := range f.Disks {
		got[d.Name] = d.SizeBytes
	}
	if len(got) != 2 || got["vda"] != sizes["vda"] || got["vdb"] != sizes["vdb"] {
		t.Errorf("disks %+v, want %v", f.Disks, sizes)
	}
	// memory_bytes is exactly the MemTotal the guest's kernel counts (tiny's
	// rcS prints /proc/meminfo's line), at most the physical memory its
	// kernel found at boot ("Memory: AVAILK/TOTALK available"), itself
	// within the 768 MiB QEMU gave.
	mt := memTotal.FindStringSubmatch(console)
	km := kernelMemory.FindStringSubmatch(console)
	if mt == nil || km == nil {
		t.Fatalf("no MemTotal line or no \"Memory: …K/…K available\" line on the console:\n%s", console)
	}
	kb, _ := strconv.ParseInt(mt[1], 10, 64)
	total, _ := strconv.ParseInt(km[2], 10, 64)
	if f.MemoryBytes != kb<<10 || f.MemoryBytes > total<<10 || total<<10 > 768<<20 {
		t.Errorf("memory_bytes %d, want the guest's %q (%d bytes), under the kernel's %q and 768 MiB", f.MemoryBytes, mt[0], kb<<10, km[0])
	}
	t.Logf("memory_bytes %d: guest %s; kernel %s", f.MemoryBytes, mt[0], km[0])
	if v.Boot == nil || v.Boot.Rule != "big" {
		t.Errorf("next boot %+v, want rule big", v.Boot)
	}

	// Known: the facts rule.
	console = boot(t, "MODE-TINY-OK")
	checkMachineJSON(t, console, fleet.MachineMeta{MAC: mac, Serial: serial, Rule: "big", Chain: "tiny:extra"})

	// The file edited while serving: the next boot follows it.
	writeRules(`rules:
  - {name: default, chain: tiny:console}
  - {name: big, match: {facts: {disks: 2, cpus: ">= 2"}}, chain: tiny:console, metadata: {edited: "yes"}}
`)
	st := waitFleet(t, base, func(s fleet.Status) bool { return ruleChain(s, "big") == "tiny:console" })
	if st.Error != "" {
		t.Errorf("a good edit with an error: %s", st.Error)
	}
	console = boot(t, consoleMarker)
	checkMachineJSON(t, console, fleet.MachineMeta{MAC: mac, Serial: serial, Rule: "big", Chain: "tiny:console", Metadata: map[string]string{"edited": "yes"}})

	// A broken edit: reported, the last good rules still serving.
	writeRules(`rules:
  - {name: default, chain: tiny:console}
  - {name: big, match: {facts: {disks: 2}}, chain: tiny:nosuch}
`)
	st = waitFleet(t, base, func(s fleet.Status) bool { return s.Error != "" })
	if !strings.Contains(st.Error, "site.yaml:3: rule big: tiny:nosuch: not found") || strings.Contains(st.Error, dir) || ruleChain(st, "big") != "tiny:console" {
		t.Errorf("after a broken edit: error %q, rule big boots %q", st.Error, ruleChain(st, "big"))
	}
	resp, err := http.Get(base + "/boot/boot.ipxe?mac=" + mac)
	if err != nil {
		t.Fatal(err)
	}
	script, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(script), "/tiny:console ") || !strings.Contains(string(script), "mode.meta.edited=yes") {
		t.Errorf("boot.ipxe after a broken edit:\n%s", script)
	}
}

// waitFleet polls GET /api/fleet until ok holds (mode serve looks at the
// site file every 2 s), for at most a minute.
func waitFleet(t *testing.T, base string, ok func(fleet.Status) bool) fleet.Status {
	t.Helper()
	var st fleet.Status
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		apiGet(t, base+"/api/fleet", &st)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /api/fleet: still %+v", st)
		}
	}
}

// ruleChain is the chain of the rule named name in force.
func ruleChain(s fleet.Status, name string) string {
	for _, r := range s.Rules {
		if r.Name == name {
			return r.Chain
		}
	}
	return ""
}
