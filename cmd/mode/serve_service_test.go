package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
	"github.com/opencontainers/go-digest"
)

// logLines follows a process's stderr, one line at a time.
type logLines struct {
	lines chan string
	all   strings.Builder
}

func followLog(r io.Reader) *logLines {
	l := &logLines{lines: make(chan string, 100)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.lines <- sc.Text()
		}
		close(l.lines)
	}()
	return l
}

// wait returns the first line holding text, failing after 60 s.
func (l *logLines) wait(t *testing.T, text string) string {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-l.lines:
			if !ok {
				t.Fatalf("mode serve ended without logging %q:\n%s", text, l.all.String())
			}
			l.all.WriteString(line + "\n")
			if strings.Contains(line, text) {
				return line
			}
		case <-timeout:
			t.Fatalf("no %q in mode serve's log after 60s:\n%s", text, l.all.String())
		}
	}
}

// siteCert makes a site PKI in dir (serve.AutoTLS) for 127.0.0.1 and returns
// its CA certificate file.
func siteCert(t *testing.T, dir string) string {
	t.Helper()
	if _, err := serve.AutoTLS(dir, []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, serve.CACertFile)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to+".new", b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(to+".new", to); err != nil {
		t.Fatal(err)
	}
}

// TestServeService runs bin/mode serve as systemd would, from a
// configuration file: it serves a pull; after a new certificate and SIGHUP,
// a connection opened before keeps working and new ones get the new
// certificate; a broken configuration on SIGHUP is refused and the server
// keeps serving; SIGTERM lets a slow download under way finish, refuses new
// connections, and exits 0.
func TestServeService(t *testing.T) {
	bin := filepath.Join(testutil.Binaries(t), "mode")
	dir, served := t.TempDir(), t.TempDir()
	s, err := store.Open(served)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddChain(t.Context(), "site", "top", registrytest.Chain(t, []string{"base", "top"}, 0)); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 48<<20) // larger than what socket buffers hold
	rand.Read(big)
	bigDigest, err := s.PutBlob(bytes.NewReader(big), digest.FromBytes(big))
	if err != nil {
		t.Fatal(err)
	}

	caA, caB := siteCert(t, filepath.Join(dir, "a")), siteCert(t, filepath.Join(dir, "b"))
	cert, key := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	copyFile(t, filepath.Join(dir, "a", "server.crt"), cert)
	copyFile(t, filepath.Join(dir, "a", "server.key"), key)
	config := filepath.Join(dir, "serve.yaml")
	good := fmt.Sprintf("# mode serve, as a service\naddr: 127.0.0.1:0\nstore: %s\ntls-cert: %s\ntls-key: %s\npush-token: t0ken\ngrace: 2m\n", served, cert, key)
	if err := os.WriteFile(config, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}

	srv := exec.Command(bin, "serve", "--config", config)
	srv.Env = slices.DeleteFunc(os.Environ(), func(e string) bool { return strings.HasPrefix(e, "MODE_STORE=") })
	stdout, _ := srv.StdoutPipe()
	// Not StderrPipe: Wait closes that once the process ended, maybe before
	// its last lines ("msg=stopped") were read. Through a writer, Wait
	// returns once they are all copied.
	stderr, stderrW := io.Pipe()
	srv.Stderr = stderrW
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() {
		err := srv.Wait()
		stderrW.Close()
		exited <- err
	}()
	defer srv.Process.Kill() // a no-op once it exited
	logs := followLog(stderr)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("mode serve printed no URL: %v", err)
	}
	url := strings.TrimSpace(line)
	host, ok := strings.CutPrefix(url, "https://")
	if !ok {
		t.Fatalf("mode serve printed %q, want an https URL (tls-cert of the file)", url)
	}
	logs.wait(t, "msg=serving")

	t.Run("pull", func(t *testing.T) {
		var o, e bytes.Buffer
		pull := exec.Command(bin, "pull", "--store", t.TempDir(), "--ca", caA, host+"/site:top")
		pull.Stdout, pull.Stderr = &o, &e
		if err := pull.Run(); err != nil {
			t.Fatalf("pull: %v: %s", err, e.String())
		}
		if _, _, want, _ := s.Chain("site", "top"); strings.TrimSpace(o.String()) != string(want) {
			t.Errorf("pull printed %q, want %s", o.String(), want)
		}
	})

	pool := x509.NewCertPool()
	for _, f := range []string{caA, caB} {
		b, _ := os.ReadFile(f)
		pool.AppendCertsFromPEM(b)
	}
	client := func() *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	// get fetches path and returns the fingerprint of the server certificate
	// and whether the connection was one already open.
	get := func(t *testing.T, c *http.Client, path string) (cert string, reused bool) {
		t.Helper()
		req, _ := http.NewRequest("GET", url+path, nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
		}))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		return fmt.Sprintf("%x", sha256.Sum256(resp.TLS.PeerCertificates[0].Raw)), reused
	}
	certA, certB := certFP(t, filepath.Join(dir, "a", "server.crt")), certFP(t, filepath.Join(dir, "b", "server.crt"))

	t.Run("SIGHUP with a new certificate", func(t *testing.T) {
		open := client()
		if got, _ := get(t, open, "/v2/_catalog"); got != certA {
			t.Fatalf("certificate %s before the reload, want %s", got, certA)
		}
		copyFile(t, filepath.Join(dir, "b", "server.crt"), cert)
		copyFile(t, filepath.Join(dir, "b", "server.key"), key)
		srv.Process.Signal(syscall.SIGHUP)
		logs.wait(t, "msg=reloaded")
		got, reused := get(t, open, "/v2/_catalog")
		if !reused || got != certA {
			t.Errorf("the connection open before SIGHUP: reused %v, certificate %s; want it kept, with the old certificate %s", reused, got, certA)
		}
		if got, _ := get(t, client(), "/v2/_catalog"); got != certB {
			t.Errorf("a new connection after SIGHUP: certificate %s, want the new %s", got, certB)
		}
	})

	t.Run("SIGHUP with a broken configuration", func(t *testing.T) {
		if err := os.WriteFile(config, []byte(good+"max-uploads: plenty\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		srv.Process.Signal(syscall.SIGHUP)
		line := logs.wait(t, "reload refused")
		if !strings.Contains(line, config+":8: max-uploads") {
			t.Errorf("the refusal does not name the file, line and key: %s", line)
		}
		if got, _ := get(t, client(), "/v2/_catalog"); got != certB {
			t.Errorf("after the refused reload: certificate %s, want %s", got, certB)
		}
	})

	t.Run("SIGTERM drains", func(t *testing.T) {
		resp, err := client().Get(url + "/v2/site/blobs/" + bigDigest.String())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		h := sha256.New()
		if _, err := io.CopyN(h, resp.Body, 1<<20); err != nil {
			t.Fatal(err)
		}
		srv.Process.Signal(syscall.SIGTERM)
		logs.wait(t, "msg=\"stopping")
		if _, err := client().Get(url + "/v2/"); err == nil {
			t.Error("a new connection was accepted after SIGTERM")
		}
		time.Sleep(time.Second)
		select {
		case err := <-exited:
			t.Fatalf("mode serve exited (%v) with a download under way", err)
		default:
		}
		// The rest, slowly (a pause every 4 MiB): the server waits for it.
		for {
			n, err := io.CopyN(h, resp.Body, 4<<20)
			if err == io.EOF && n < 4<<20 {
				break
			}
			if err != nil {
				t.Fatalf("the download under way was cut: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if got := digest.NewDigestFromBytes(digest.SHA256, h.Sum(nil)); got != bigDigest {
			t.Errorf("the download under way ended as %s, want %s", got, bigDigest)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("mode serve after SIGTERM: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("mode serve still running 60s after the last download ended")
		}
		logs.wait(t, "msg=stopped")
	})
}

// certFP is the SHA-256 of the (first) certificate in the PEM file.
func certFP(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM", file)
	}
	return fmt.Sprintf("%x", sha256.Sum256(block.Bytes))
}
