package site_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mode-build/mode/boot/netboot"
	"github.com/mode-build/mode/registry/fleet"
	"github.com/mode-build/mode/registry/site"
	"github.com/mode-build/mode/report"
	"gopkg.in/yaml.v3"
)

const sshKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGXkOhMJJwLKAt9L3ChUqChHrtuZxHz2vpgpgTINfLd7 ops@example"

// metaServer is a site with a fleet whose rules give host names, metadata
// and SSH keys, and /boot/ with the NoCloud seeds, as mode serve mounts
// them; push is its push token ("" for none).
func metaServer(t *testing.T, push string) string {
	t.Helper()
	f := newFixture(t)
	file := filepath.Join(t.TempDir(), "site.yaml")
	rules := `rules:
  - {name: default, chain: tiny:base}
  - name: db
    match: {mac: "52:54:00:00:00:01"}
    chain: tiny:console
    hostname: "db-{mac}"
    metadata: {role: db, rack: r12}
    ssh_keys: ["` + sshKey + `"]
`
	if err := os.WriteFile(file, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	fl, err := fleet.New(fleet.WithSiteFile(file, f.store))
	if err != nil {
		t.Fatal(err)
	}
	st := site.New(f.store, f.db, site.WithPushToken(push, false), site.WithFleet(fl, adminToken))
	cfg := netboot.Config{Repo: "tiny", NoCloud: fl.MachineHandler(st.MachineToken),
		Choose: func(m netboot.Machine) (*netboot.Choice, error) {
			b, err := fl.BootIPXE(fleet.Machine{MAC: m.MAC, UUID: m.UUID, Serial: m.Serial, Hostname: m.Hostname})
			if err != nil {
				return nil, err
			}
			return &netboot.Choice{Local: b.Local, Repo: b.Repo, Ref: b.Ref, Args: b.Args}, nil
		}}
	if push != "" {
		cfg.Token = func(mac string) string { return report.MachineToken(push, mac) }
	}
	mux := http.NewServeMux()
	mux.Handle("/boot/", netboot.Handler(cfg))
	mux.Handle("/", st.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// getAs GETs url with a bearer token ("" for none).
func getAs(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMachineMetadata: each machine reads its own metadata (host name,
// rule, chain, metadata, SSH keys) with its own token, and no other
// machine's; bad MACs and unknown machines are refused.
func TestMachineMetadata(t *testing.T) {
	base := metaServer(t, pushToken)
	const mac1, mac2, mac9 = "52:54:00:00:00:01", "52:54:00:00:00:02", "52:54:00:00:00:09"
	tok1, tok2, tok9 := report.MachineToken(pushToken, mac1), report.MachineToken(pushToken, mac2), report.MachineToken(pushToken, mac9)
	for _, mac := range []string{mac1, mac2} { // both known: they asked boot.ipxe
		if code, body := get(t, base+"/boot/boot.ipxe?mac="+mac); code != http.StatusOK {
			t.Fatalf("boot.ipxe %s: %d %s", mac, code, body)
		}
	}
	url := func(mac string) string { return base + "/api/fleet/machines/" + mac + "/metadata" }
	code, body := getAs(t, url(mac1), tok1)
	if code != http.StatusOK {
		t.Fatalf("metadata: %d %s", code, body)
	}
	var m fleet.MachineMeta
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	want := fleet.MachineMeta{MAC: mac1, Hostname: "db-525400000001", Rule: "db", Chain: "tiny:console",
		Metadata: map[string]string{"role": "db", "rack": "r12"}, SSHKeys: []string{sshKey}}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("metadata\n got %+v\nwant %+v", m, want)
	}
	code, body = getAs(t, url(mac2), tok2) // the default rule: no keys
	if !strings.Contains(body, `"rule": "default"`) || strings.Contains(body, "ssh") || code != http.StatusOK {
		t.Errorf("machine 2: %d %s", code, body)
	}
	for _, tc := range []struct {
		name, url, token string
		code             int
		want             string
	}{
		{"no token", url(mac1), "", http.StatusUnauthorized, "needs the machine's token"},
		{"another machine's token", url(mac1), tok2, http.StatusUnauthorized, "wrong token"},
		{"the push token", url(mac1), pushToken, http.StatusUnauthorized, "wrong token"},
		{"bad MAC", url("52:54:00:zz"), tok1, http.StatusBadRequest, "52:54:00:zz\\\": want six hex bytes"},
		{"unknown machine", url(mac9), tok9, http.StatusNotFound, "no such machine: " + mac9},
		{"unknown machine, wrong token", url(mac9), tok1, http.StatusUnauthorized, "wrong token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := getAs(t, tc.url, tc.token)
			if code != tc.code || !strings.Contains(body, tc.want) || strings.Contains(body, tok1) || strings.Contains(body, pushToken) {
				t.Errorf("got %d %s, want %d %q", code, body, tc.code, tc.want)
			}
		})
	}
}

// TestNoCloud: boot.ipxe names each machine's NoCloud seed on its kernel
// line, and the seed holds its instance-id, host name and SSH keys, for
// that machine's token only.
func TestNoCloud(t *testing.T) {
	base := metaServer(t, pushToken)
	const mac1 = "52:54:00:00:00:01"
	tok1 := report.MachineToken(pushToken, mac1)
	_, script := get(t, base+"/boot/boot.ipxe?mac="+mac1)
	seed := base + "/boot/nocloud/" + mac1 + "/" + tok1 + "/"
	if !strings.Contains(script, " ds=nocloud-net;s="+seed+" ") {
		t.Fatalf("the kernel line names no seed %s:\n%s", seed, script)
	}
	code, meta := get(t, seed+"meta-data")
	if code != http.StatusOK || meta != "instance-id: mode-525400000001\nlocal-hostname: db-525400000001\n" {
		t.Errorf("meta-data: %d %q", code, meta)
	}
	code, user := get(t, seed+"user-data")
	if code != http.StatusOK || !strings.HasPrefix(user, "#cloud-config\n") {
		t.Fatalf("user-data: %d %q", code, user)
	}
	var cc struct {
		Hostname string   `yaml:"hostname"`
		Keys     []string `yaml:"ssh_authorized_keys"`
	}
	if err := yaml.Unmarshal([]byte(user), &cc); err != nil || cc.Hostname != "db-525400000001" || len(cc.Keys) != 1 || cc.Keys[0] != sshKey {
		t.Errorf("user-data %q: %+v %v", user, cc, err)
	}
	if code, vendor := get(t, seed+"vendor-data"); code != http.StatusOK || vendor != "" {
		t.Errorf("vendor-data: %d %q", code, vendor)
	}
	// A machine without a rule's host name or keys: a seed all the same.
	const mac2 = "52:54:00:00:00:02"
	get(t, base+"/boot/boot.ipxe?mac="+mac2)
	seed2 := base + "/boot/nocloud/" + mac2 + "/" + report.MachineToken(pushToken, mac2) + "/"
	if code, meta := get(t, seed2+"meta-data"); code != http.StatusOK || meta != "instance-id: mode-525400000002\n" {
		t.Errorf("machine 2 meta-data: %d %q", code, meta)
	}
	if code, user := get(t, seed2+"user-data"); code != http.StatusOK || user != "#cloud-config\n{}\n" {
		t.Errorf("machine 2 user-data: %d %q", code, user)
	}
	const mac9 = "52:54:00:00:00:09"
	for _, tc := range []struct {
		name, url string
		code      int
		want      string
	}{
		{"another machine's token", base + "/boot/nocloud/" + mac1 + "/" + report.MachineToken(pushToken, mac2) + "/user-data", http.StatusUnauthorized, "wrong token"},
		{"the push token", base + "/boot/nocloud/" + mac1 + "/" + pushToken + "/user-data", http.StatusUnauthorized, "wrong token"},
		{"bad MAC", base + "/boot/nocloud/52:54:00:zz/" + tok1 + "/meta-data", http.StatusBadRequest, `MAC "52:54:00:zz"`},
		{"unknown machine", base + "/boot/nocloud/" + mac9 + "/" + report.MachineToken(pushToken, mac9) + "/meta-data", http.StatusNotFound, "no such machine"},
		{"no such file", seed + "network-config", http.StatusNotFound, "no file network-config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(t, tc.url)
			if code != tc.code || !strings.Contains(body, tc.want) || strings.Contains(body, tok1) {
				t.Errorf("got %d %q, want %d %q", code, body, tc.code, tc.want)
			}
		})
	}
}

// TestMachineMetadataOff: without a push token there are no machine tokens:
// no seed on the kernel line, metadata refused.
func TestMachineMetadataOff(t *testing.T) {
	base := metaServer(t, "")
	const mac1 = "52:54:00:00:00:01"
	if _, script := get(t, base+"/boot/boot.ipxe?mac="+mac1); strings.Contains(script, "ds=nocloud-net") {
		t.Errorf("a seed without a token:\n%s", script)
	}
	code, body := getAs(t, base+"/api/fleet/machines/"+mac1+"/metadata", "anything")
	if code != http.StatusForbidden || !strings.Contains(body, "--push-token") {
		t.Errorf("got %d %s", code, body)
	}
	if code, _ := get(t, base+"/boot/nocloud/"+mac1+"/anything/meta-data"); code != http.StatusForbidden {
		t.Errorf("nocloud: %d", code)
	}
}
