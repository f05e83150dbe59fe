package report

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Path is where a server takes reports (POST).
const Path = "/api/reports"

// Timeout is how long Send waits for the server by default: a report never
// holds a boot up longer.
const Timeout = 3 * time.Second

// MachineToken is the token that lets one machine report as itself and as
// no other: an HMAC, keyed by the push token, of the machine's identity
// (Machine.ID: its MAC, lower case). mode serve hands it to each machine in
// its own boot.ipxe (mode.report) and checks a report's machine against it,
// storing nothing.
func MachineToken(pushToken, id string) string {
	if pushToken == "" || id == "" {
		return ""
	}
	m := hmac.New(sha256.New, []byte(pushToken))
	m.Write([]byte("mode machine report v1\n" + id))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

// URL is the report URL of the registry of ref (HOST[:PORT]/REPO:TAG):
// http:// when insecure or for a loopback host (as pushes and pulls do),
// else https://.
func URL(ref string, insecure bool) (string, error) {
	host, _, ok := strings.Cut(ref, "/")
	if !ok || host == "" {
		return "", fmt.Errorf("report: %q names no registry host", ref)
	}
	scheme := "https"
	if insecure || loopbackHost(host) {
		scheme = "http"
	}
	return scheme + "://" + host + Path, nil
}

// ErrNotTaken is Send's error when the server has no report endpoint (404):
// a registry that is no mode serve, or mode boot's own. Callers say nothing.
var ErrNotTaken = errors.New("the server takes no reports")

// Send posts r to url with the bearer token, giving up after timeout (Timeout
// when zero). It reads the server's reply only for its error message.
func Send(ctx context.Context, url, token string, r *Report, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("report to %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("report to %s: %w", url, ErrNotTaken)
	}
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("report to %s: %s: %s", url, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

// loopbackHost reports whether HOST[:PORT] names this machine's loopback.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
