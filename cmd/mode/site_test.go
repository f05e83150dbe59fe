package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/registry/fleet"
)

// TestSiteCommands: mode site check lists a good file's rules and names a
// bad one's faults at file:line; mode serve refuses to start on a bad file;
// mode site action queues an action with the admin token and not without.
func TestSiteCommands(t *testing.T) {
	s, _ := registrytest.Store(t, []string{"base", "top"}, 0)
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.yaml"), filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte("rules:\n  - {name: default, chain: "+registrytest.Repo+":base}\n  - {name: one, match: {mac: \"52:54:00:00:00:01\"}, chain: top}\n"), 0o644)
	os.WriteFile(bad, []byte("rules:\n  - {name: default, chain: base}\n  - name: one\n    match: {mac: \"52:54:00\"}\n    chain: nosuch\n"), 0o644)
	run := func(args ...string) (string, string, error) {
		var o, e bytes.Buffer
		cmd := modeCmd(args...)
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		return o.String(), e.String(), err
	}
	out, stderr, err := run("site", "check", "--store", s.Dir(), good)
	if err != nil || !strings.Contains(out, good+":3\tone\tmac\ttop") || !strings.Contains(out, good+":2\tdefault\tdefault") {
		t.Errorf("site check of a good file: %v\n%s%s", err, out, stderr)
	}
	if _, stderr, err := run("site", "check", "--store", s.Dir(), bad); err == nil || !strings.Contains(stderr, bad+`:3: rule one: mac "52:54:00"`) {
		t.Errorf("site check of a bad file: %v\n%s", err, stderr)
	}
	if _, stderr, err := run("serve", "--store", s.Dir(), "--addr", "127.0.0.1:0", "--site-file", bad); err == nil || !strings.Contains(stderr, bad+":3:") {
		t.Errorf("serve with a bad site file: %v\n%s", err, stderr)
	}

	srv := modeCmd("serve", "--store", s.Dir(), "--addr", "127.0.0.1:0", "--site-file", good, "--admin-token", "adm1n", "--push-token", "pu5h")
	stdout, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("mode serve printed no URL: %v", err)
	}
	base := strings.TrimSpace(line)
	if _, stderr, err := run("site", "action", "52:54:00:00:00:01", "boot-once", "base", "--server", base, "--admin-token", "pu5h"); err == nil || !strings.Contains(stderr, "wrong admin token") {
		t.Errorf("action with the push token: %v\n%s", err, stderr)
	}
	if out, stderr, err := run("site", "action", "52:54:00:00:00:01", "boot-once", "base", "--server", base, "--admin-token", "adm1n"); err != nil || strings.TrimSpace(out) != "1" {
		t.Fatalf("action: %v %q\n%s", err, out, stderr)
	}
	resp, err := http.Get(base + "/api/fleet/machines/52:54:00:00:00:01")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v fleet.MachineView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v.Boot == nil || v.Boot.Action == nil || v.Boot.Ref != "base" || v.Actions[0].State != fleet.Pending {
		t.Errorf("machine after the action: %+v (%v)", v, err)
	}
}
