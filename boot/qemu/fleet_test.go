package qemu_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/qemu"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/fleet"
	"github.com/mode-build/mode/registry/site"
)

// TestFleetNetboot: three machines, told apart by MAC, SMBIOS UUID and
// serial, netboot from one mode serve with a site file; each boots the
// chain its rule names (tiny's extra prints MODE-TINY-OK; its console lacks
// extra's file), reports with its own token, and the fleet knows its facts.
func TestFleetNetboot(t *testing.T) {
	if testing.Short() {
		t.Skip("boots QEMU three times: not with -short")
	}
	testutil.RequiresRoot(t)
	testutil.RequiresQEMU(t)
	storeDir := filepath.Join(t.TempDir(), "store")
	testutil.BuildTiny(t, filepath.Join(t.TempDir(), "out"), storeDir)
	siteFile := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(siteFile, []byte(`rules:
  - {name: default, chain: tiny:console}
  - {name: by-mac, match: {mac: "52:54:00:00:0f:01"}, chain: tiny:extra}
  - {name: by-uuid, match: {uuid: "0f0f0f0f-0000-4000-8000-000000000002"}, chain: tiny:console, hostname: "node-{mac}"}
  - {name: by-serial, match: {serial: "FLEET-3"}, chain: tiny:extra, metadata: {role: db}, ssh_keys: ["`+fleetSSHKey+`"]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	base := modeServe(t, storeDir, "s3cret", "--site-file", siteFile, "--advertise", "10.0.2.2", "--admin-token", "adm1n",
		"--kernel", testutil.Kernel(t).Vmlinuz, "--initrd", testutil.Initramfs(t))
	port := base[strings.LastIndex(base, ":")+1:]
	const consoleMarker = "MODE-TINY-FAIL: [test -f /etc/extra.conf]" // console: every layer but extra's
	boot := func(t *testing.T, mac, smbios, want string) string {
		t.Helper()
		return fleetBoot(t, qemu.Machine{MemoryMiB: 512, MAC: mac, BootURL: "http://10.0.2.2:" + port + "/boot/boot.ipxe", Extra: []string{"-smbios", smbios}}, want)
	}
	for _, tc := range []struct {
		name, mac, smbios, want, line string
		meta                          fleet.MachineMeta // what /run/mode/machine.json must say
	}{
		{"by mac", "52:54:00:00:0f:01", "type=1,serial=OTHER", "MODE-TINY-OK", "/tiny:extra ",
			fleet.MachineMeta{MAC: "52:54:00:00:0f:01", Serial: "OTHER", Rule: "by-mac", Chain: "tiny:extra"}},
		{"by uuid", "52:54:00:00:0f:02", "type=1,uuid=0f0f0f0f-0000-4000-8000-000000000002", consoleMarker, "mode.hostname=node-525400000f02",
			fleet.MachineMeta{MAC: "52:54:00:00:0f:02", UUID: "0f0f0f0f-0000-4000-8000-000000000002", Hostname: "node-525400000f02", Rule: "by-uuid", Chain: "tiny:console"}},
		{"by serial", "52:54:00:00:0f:03", "type=1,serial=FLEET-3", "MODE-TINY-OK", "mode.meta.role=db",
			fleet.MachineMeta{MAC: "52:54:00:00:0f:03", Serial: "FLEET-3", Rule: "by-serial", Chain: "tiny:extra", Metadata: map[string]string{"role": "db"}, SSHKeys: []string{fleetSSHKey}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			console := boot(t, tc.mac, tc.smbios, tc.want)
			if !strings.Contains(console, tc.line) {
				t.Errorf("console lacks %q:\n%s", tc.line, console)
			}
			checkMachineJSON(t, console, tc.meta)
			checkNoCloud(t, console, base, port, tc.meta)
		})
	}
	var ms []fleet.MachineView
	apiGet(t, base+"/api/fleet/machines", &ms)
	rules := map[string]string{}
	for _, m := range ms {
		if m.Boot != nil {
			rules[m.ID] = m.Boot.Rule
		}
		if m.Facts == nil || m.Facts.MemoryBytes == 0 || len(m.Facts.NICs) == 0 || m.Facts.NICs[0].MAC != m.ID {
			t.Errorf("machine %s: facts %+v", m.ID, m.Facts)
		}
	}
	if rules["52:54:00:00:0f:01"] != "by-mac" || rules["52:54:00:00:0f:02"] != "by-uuid" || rules["52:54:00:00:0f:03"] != "by-serial" {
		t.Errorf("rules %v", rules)
	}
	// A one-shot action: the first machine boots console once, and its
	// boot report clears the action.
	t.Run("boot-once action", func(t *testing.T) {
		a, err := fleet.PostAction(context.Background(), nil, base, "adm1n", "52:54:00:00:0f:01", fleet.ActionRequest{Kind: "boot-once", Chain: "tiny:console"})
		if err != nil {
			t.Fatal(err)
		}
		console := boot(t, "52:54:00:00:0f:01", "type=1,serial=OTHER", consoleMarker)
		// The init asked before its report: the action was pending, its chain the machine's.
		checkMachineJSON(t, console, fleet.MachineMeta{MAC: "52:54:00:00:0f:01", Serial: "OTHER", Rule: "by-mac", Chain: "tiny:console"})
		var v fleet.MachineView
		apiGet(t, base+"/api/fleet/machines/52:54:00:00:0f:01", &v)
		last := v.Actions[len(v.Actions)-1]
		if last.ID != a.ID || last.State != fleet.Done || last.Report == 0 || v.Boot.Rule != "by-mac" {
			t.Errorf("after the boot: action %+v, next boot %+v", last, v.Boot)
		}
	})
	var h site.MachineHistory
	apiGet(t, base+"/api/machines/52:54:00:00:0f:02", &h)
	if h.Facts == nil || h.Facts.UUID != "0f0f0f0f-0000-4000-8000-000000000002" || h.Machine.Hostname != "node-525400000f02" {
		t.Errorf("machine 2: %+v facts %+v", h.Machine, h.Facts)
	}
}

// fleetBoot boots m to want (one of tiny's markers, or the init's FAILED:
// the others fail the boot) and wants its boot report sent; it returns the
// console.
func fleetBoot(t *testing.T, m qemu.Machine, want string) string {
	t.Helper()
	fail := []string{"mode-init: FAILED", "MODE-TINY-OK", "MODE-TINY-FAIL"}
	for i, f := range fail {
		if strings.HasPrefix(want, f) {
			fail = append(fail[:i:i], fail[i+1:]...)
		}
	}
	res, err := qemu.Run(context.Background(), m, qemu.Watch{Expect: want, Fail: fail, Timeout: 8 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(res.Console, "boot report not sent") {
		t.Errorf("the report failed:\n%s", res.Console)
	}
	t.Logf("%s booted in %.1fs", m.MAC, res.Elapsed.Seconds())
	return res.Console
}
