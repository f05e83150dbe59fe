package site_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/boot/netboot"
	"github.com/mode-build/mode/registry/fleet"
	"github.com/mode-build/mode/registry/site"
	"github.com/mode-build/mode/report"
)

const adminToken = "admin-s3cret"

// fleetServer is the site with a fleet of three rules (one machine by MAC,
// one by UUID, one by serial) and /boot/, as mode serve mounts them.
func fleetServer(t *testing.T) string {
	t.Helper()
	f := newFixture(t)
	file := filepath.Join(t.TempDir(), "site.yaml")
	rules := `rules:
  - {name: default, chain: tiny:base}
  - {name: by-mac, match: {mac: "52:54:00:00:00:01"}, chain: tiny:console, hostname: "node-{mac}"}
  - {name: by-uuid, match: {uuid: "11111111-2222-3333-4444-555555555555"}, chain: tiny:extra, noload: "^extra$"}
  - {name: by-serial, match: {serial: "SN-3"}, chain: tiny:extra, kernel: tiny:console}
`
	if err := os.WriteFile(file, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	fl, err := fleet.New(fleet.WithSiteFile(file, f.store))
	if err != nil {
		t.Fatal(err)
	}
	st := site.New(f.store, f.db, site.WithPushToken(pushToken, false), site.WithFleet(fl, adminToken))
	boot := netboot.Handler(netboot.Config{Repo: "tiny",
		Token: func(mac string) string { return report.MachineToken(pushToken, mac) },
		Choose: func(m netboot.Machine) (*netboot.Choice, error) {
			b, err := fl.BootIPXE(fleet.Machine{MAC: m.MAC, UUID: m.UUID, Serial: m.Serial, Hostname: m.Hostname})
			if errors.Is(err, fleet.ErrNoRule) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			return &netboot.Choice{Local: b.Local, Repo: b.Repo, Ref: b.Ref, Args: b.Args, KernelRepo: b.KernelRepo, KernelRef: b.KernelRef}, nil
		}})
	mux := http.NewServeMux()
	mux.Handle("/boot/", boot)
	mux.Handle("/", st.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestBootIPXEPerMachine: boot.ipxe answers each machine, known by its MAC,
// UUID or serial, with its own chain, arguments and report token.
func TestBootIPXEPerMachine(t *testing.T) {
	base := fleetServer(t)
	host := strings.TrimPrefix(base, "http://")
	for _, tc := range []struct{ name, query, want string }{
		{"by mac", "mac=52:54:00:00:00:01", "mode.ref=" + host + "/tiny:console mode.insecure mode.report=" + report.MachineToken(pushToken, "52:54:00:00:00:01") + " mode.hostname=node-525400000001\n"},
		{"by uuid", "mac=52:54:00:00:00:02&uuid=11111111-2222-3333-4444-555555555555", "mode.ref=" + host + "/tiny:extra mode.insecure mode.report=" + report.MachineToken(pushToken, "52:54:00:00:00:02") + " mode.noload=^extra$\n"},
		{"by serial", "mac=52:54:00:00:00:03&serial=SN-3&uuid=&hostname=", "mode.ref=" + host + "/tiny:extra mode.insecure mode.report=" + report.MachineToken(pushToken, "52:54:00:00:00:03") + "\n"},
		{"default", "mac=52:54:00:00:00:04", "mode.ref=" + host + "/tiny:base mode.insecure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(t, base+"/boot/boot.ipxe?"+tc.query)
			if code != http.StatusOK || !strings.Contains(body, tc.want) {
				t.Errorf("got %d:\n%s\nwant %q", code, body, tc.want)
			}
		})
	}
	// A rule's kernel: boots another chain's kernel and initramfs; the
	// others boot their own chain's.
	for query, want := range map[string]string{
		"mac=52:54:00:00:00:03&serial=SN-3":                               "/boot/chain/tiny/console/vmlinuz ",
		"mac=52:54:00:00:00:02&uuid=11111111-2222-3333-4444-555555555555": "/boot/chain/tiny/extra/vmlinuz ",
	} {
		if _, body := get(t, base+"/boot/boot.ipxe?"+query); !strings.Contains(body, want) || !strings.Contains(body, "/tiny:extra ") {
			t.Errorf("boot.ipxe?%s:\n%s\nwant the kernel %q and the chain tiny:extra", query, body, want)
		}
	}
	var ms []fleet.MachineView
	getJSON(t, base+"/api/fleet/machines", &ms)
	if len(ms) != 4 || ms[1].Boot.Rule != "by-uuid" || !strings.Contains(ms[1].Boot.Why, "uuid is 11111111-2222-3333-4444-555555555555") {
		t.Errorf("fleet machines %+v", ms)
	}
	var st fleet.Status
	getJSON(t, base+"/api/fleet", &st)
	if len(st.Rules) != 4 || st.Rules[0].Name != "by-mac" || st.Error != "" {
		t.Errorf("fleet status %+v", st)
	}
}

func action(t *testing.T, base, token, mac, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/fleet/machines/"+mac+"/actions", strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	json.NewDecoder(resp.Body).Decode(&json.RawMessage{})
	return resp.StatusCode, b.String()
}

// TestActionsAndMachineTokens: an action needs the admin token (not the
// push token); boot.ipxe serves it without clearing it; a report with
// another machine's token is refused; the machine's successful boot
// report clears it.
func TestActionsAndMachineTokens(t *testing.T) {
	base := fleetServer(t)
	const mac = "52:54:00:00:00:01"
	body := `{"kind": "boot-once", "chain": "tiny:extra"}`
	for _, tc := range []struct {
		name, token string
		code        int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"push token", pushToken, http.StatusUnauthorized},
		{"admin token", adminToken, http.StatusCreated},
	} {
		if code, _ := action(t, base, tc.token, mac, body); code != tc.code {
			t.Errorf("%s: %d, want %d", tc.name, code, tc.code)
		}
	}
	if code, _ := action(t, base, adminToken, mac, `{"kind": "boot-once", "chain": "tiny:nosuch"}`); code != http.StatusBadRequest {
		t.Errorf("an action of a missing chain: %d", code)
	}
	pending := func() string {
		var v fleet.MachineView
		getJSON(t, base+"/api/fleet/machines/"+mac, &v)
		if len(v.Actions) != 1 {
			t.Fatalf("actions %+v", v.Actions)
		}
		return v.Actions[0].State
	}
	for range 2 {
		_, script := get(t, base+"/boot/boot.ipxe?mac="+mac)
		if !strings.Contains(script, "/tiny:extra ") || pending() != fleet.Pending {
			t.Fatalf("boot.ipxe with the action:\n%s\nstate %s", script, pending())
		}
	}
	rep := goodReport()
	rep.Machine.MAC = mac
	if code, body := post(t, base, report.MachineToken(pushToken, "52:54:00:00:00:02"), mustJSON(t, rep)); code != http.StatusUnauthorized {
		t.Errorf("a report with another machine's token: %d %s", code, body)
	}
	if pending() != fleet.Pending {
		t.Fatal("the refused report cleared the action")
	}
	if code, body := post(t, base, report.MachineToken(pushToken, mac), mustJSON(t, rep)); code != http.StatusCreated {
		t.Fatalf("the machine's report: %d %s", code, body)
	}
	if pending() != fleet.Done {
		t.Error("the successful report of the action's chain left it pending")
	}
	if _, script := get(t, base+"/boot/boot.ipxe?mac="+mac); !strings.Contains(script, "/tiny:console ") {
		t.Errorf("after the action, boot.ipxe:\n%s", script)
	}
	// The page shows the action and the rule; no reply holds a token.
	_, page := get(t, base+"/machines/"+mac)
	for _, want := range []string{"boot-once tiny:extra", "done", "by-mac"} {
		if !strings.Contains(page, want) {
			t.Errorf("the machine's page lacks %q", want)
		}
	}
	if _, index := get(t, base+"/"); !strings.Contains(index, "rule by-mac: tiny:console") {
		t.Errorf("the index page lacks the machine's next boot")
	}
	for _, u := range []string{"/api/fleet", "/api/fleet/machines", "/api/machines/" + mac, "/machines/" + mac} {
		if _, b := get(t, base+u); strings.Contains(b, adminToken) || strings.Contains(b, pushToken) {
			t.Errorf("%s shows a token", u)
		}
	}
}
