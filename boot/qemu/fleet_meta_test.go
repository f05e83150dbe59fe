package qemu_test

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/mode-build/mode/registry/fleet"
	"github.com/mode-build/mode/report"
)

// fleetSSHKey is an authorized key a rule hands its machines.
const fleetSSHKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGXkOhMJJwLKAt9L3ChUqChHrtuZxHz2vpgpgTINfLd7 ops@example"

// machineLine is tiny's rcS printing /run/mode/machine.json.
var machineLine = regexp.MustCompile(`MODE-MACHINE (\{.*\})\r?\n`)

// checkMachineJSON checks the /run/mode/machine.json the booted system
// printed: exactly want, but for the UUID, which is checked only when want
// has one (QEMU makes one up otherwise).
func checkMachineJSON(t *testing.T, console string, want fleet.MachineMeta) {
	t.Helper()
	m := machineLine.FindStringSubmatch(console)
	if m == nil {
		t.Errorf("no /run/mode/machine.json on the console:\n%s", console)
		return
	}
	var got fleet.MachineMeta
	if err := json.Unmarshal([]byte(m[1]), &got); err != nil {
		t.Errorf("machine.json %s: %v", m[1], err)
		return
	}
	if want.UUID == "" {
		got.UUID = ""
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("machine.json\n got %+v\nwant %+v", got, want)
	}
}

// seedArg is the NoCloud seed on a kernel line.
var seedArg = regexp.MustCompile(` ds=nocloud-net;s=(\S+)`)

// checkNoCloud checks the NoCloud seed the kernel line named: the
// machine's own (MAC and token), served by mode serve with its host name
// and keys.
func checkNoCloud(t *testing.T, console, base, port string, want fleet.MachineMeta) {
	t.Helper()
	m := seedArg.FindStringSubmatch(console)
	wantURL := "http://10.0.2.2:" + port + "/boot/nocloud/" + want.MAC + "/" + report.MachineToken("s3cret", want.MAC) + "/"
	if m == nil || m[1] != wantURL {
		t.Errorf("kernel line: seed %q, want %s", m, wantURL)
		return
	}
	resp, err := http.Get(base + strings.TrimPrefix(m[1], "http://10.0.2.2:"+port) + "user-data")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	s := string(b)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(s, "#cloud-config\n") ||
		(want.Hostname != "") != strings.Contains(s, "hostname: "+want.Hostname+"\n") ||
		len(want.SSHKeys) > 0 != strings.Contains(s, fleetSSHKey) {
		t.Errorf("user-data: %s %q", resp.Status, s)
	}
}
