package modeinit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/mode-build/mode/report"
	"golang.org/x/sys/unix"
)

// machineFile is what the booted system learns of itself from the fleet.
var machineFile = filepath.Join(runDir, "machine.json")

// maxMachineJSON bounds the server's metadata reply.
const maxMachineJSON = 256 << 10

// writeMachine asks the server for this machine's metadata (GET
// /api/fleet/machines/MAC/metadata with its mode.report token: host name,
// rule, chain, metadata, SSH keys) and writes it to /run/mode/machine.json;
// it sets the host name from it when mode.hostname did not. It never fails
// the boot: without a token, or offline (the chain came from the cache
// disk), there is nothing to ask, and a server that does not answer is
// logged.
func (b *boot) writeMachine() (string, error) {
	token := b.p.reportToken
	if b.p.from != "" || b.p.ref == "" || token == "" || token == "0" {
		return "no machine token (mode.report): no metadata", nil
	}
	if b.offline != nil { // the server did not answer the pull: no waiting for it again
		return "offline: no metadata", nil
	}
	mac := report.ThisMachine().MAC
	data, err := fetchMachine(b.p.ref, b.p.insecure, mac, token, b.p.reportTimeout)
	if err != nil {
		b.logf("machine metadata: %v", err)
		return "no metadata", nil
	}
	var m struct {
		Hostname string `json:"hostname"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		b.logf("machine metadata: %v", err)
		return "no metadata", nil
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, data)
	compact.WriteByte('\n')
	if err := writeFileAtomic(machineFile, compact.Bytes()); err != nil {
		return "", fmt.Errorf("%s: %w", machineFile, err)
	}
	if b.p.hostname == "" && m.Hostname != "" && hostnameRE.MatchString(m.Hostname) {
		if err := unix.Sethostname([]byte(m.Hostname)); err != nil {
			b.logf("host name %s: %v", m.Hostname, err)
		}
	}
	return "metadata of " + mac + " in " + machineFile, nil
}

// fetchMachine GETs the metadata of mac from the registry of ref.
func fetchMachine(ref string, insecure bool, mac, token string, timeout time.Duration) ([]byte, error) {
	if mac == "" {
		return nil, errors.New("no network interface with a MAC")
	}
	ru, err := report.URL(ref, insecure)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(ru)
	if err != nil {
		return nil, err
	}
	u.Path = "/api/fleet/machines/" + mac + "/metadata"
	if timeout <= 0 {
		timeout = report.Timeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxMachineJSON+1))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s: %s", u, resp.Status, bytes.TrimSpace(data[:min(len(data), 512)]))
	}
	if len(data) > maxMachineJSON {
		return nil, fmt.Errorf("%s: over %d bytes", u, maxMachineJSON)
	}
	return data, nil
}

// writeFileAtomic writes data to file through a temporary file beside it.
func writeFileAtomic(file string, data []byte) error {
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
