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
  - {name: by-serial, match: {serial: "FLEET-3"}, chain: tiny:extra, metadata: {role: db}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	base := modeServe(t, storeDir, "s3cret", "--site-file", siteFile, "--advertise", "10.0.2.2",
		"--kernel", testutil.Kernel(t).Vmlinuz, "--initrd", testutil.Initramfs(t))
	port := base[strings.LastIndex(base, ":")+1:]
	const consoleMarker = "MODE-TINY-FAIL: [test -f /etc/extra.conf]" // console: every layer but extra's
	for _, tc := range []struct {
		name, mac, smbios, want, line string
	}{
		{"by mac", "52:54:00:00:0f:01", "type=1,serial=OTHER", "MODE-TINY-OK", "/tiny:extra "},
		{"by uuid", "52:54:00:00:0f:02", "type=1,uuid=0f0f0f0f-0000-4000-8000-000000000002", consoleMarker, "mode.hostname=node-525400000f02"},
		{"by serial", "52:54:00:00:0f:03", "type=1,serial=FLEET-3", "MODE-TINY-OK", "mode.meta.role=db"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := qemu.Machine{MemoryMiB: 512, MAC: tc.mac, BootURL: "http://10.0.2.2:" + port + "/boot/boot.ipxe", Extra: []string{"-smbios", tc.smbios}}
			fail := []string{"mode-init: FAILED", "MODE-TINY-OK", "MODE-TINY-FAIL"}
			for i, f := range fail {
				if strings.HasPrefix(tc.want, f) {
					fail = append(fail[:i:i], fail[i+1:]...)
				}
			}
			res, err := qemu.Run(context.Background(), m, qemu.Watch{Expect: tc.want, Fail: fail, Timeout: 8 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(res.Console, tc.line) || strings.Contains(res.Console, "boot report not sent") {
				t.Errorf("console lacks %q or the report failed:\n%s", tc.line, res.Console)
			}
			t.Logf("%s booted in %.1fs", tc.mac, res.Elapsed.Seconds())
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
	var h site.MachineHistory
	apiGet(t, base+"/api/machines/52:54:00:00:0f:02", &h)
	if h.Facts == nil || h.Facts.UUID != "0f0f0f0f-0000-4000-8000-000000000002" || h.Machine.Hostname != "node-525400000f02" {
		t.Errorf("machine 2: %+v facts %+v", h.Machine, h.Facts)
	}
}
