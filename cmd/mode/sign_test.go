package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/store"
	"github.com/mode-build/mode/registry/trust"
	"github.com/mode-build/mode/squashfs"
)

// TestSignVerifyInterop signs chains with mode and with cosign (pinned, make
// tools) and checks each with the other, on mode serve and on the CNCF
// distribution registry; bad keys push nothing.
func TestSignVerifyInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: needs cosign and the distribution registry (make tools)")
	}
	cosign := interopTool(t, "cosign")
	dir := t.TempDir()
	store := t.TempDir()
	twoChains(t, store)
	if o, e, err := runMode(t, "key", "generate", filepath.Join(dir, "mode")); err != nil || !strings.HasPrefix(o, "sha256:") {
		t.Fatalf("key generate: %q %v: %s", o, err, e)
	}
	cmd := exec.Command(cosign, "generate-key-pair", "--output-key-prefix", filepath.Join(dir, "cosign"))
	cmd.Env = append(os.Environ(), "COSIGN_PASSWORD=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cosign generate-key-pair: %v: %s", err, out)
	}
	modeKey, modePub := filepath.Join(dir, "mode.key"), filepath.Join(dir, "mode.pub")
	cosignKey, cosignPub := filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	cosignID := keyID(t, cosignPub)

	serve := serveFor(t, t.TempDir(), "t0ken")
	for _, reg := range []struct {
		name, host string
		auth       []string // mode's flags
		cosignAuth []string
	}{
		{"mode serve", serve, []string{"--token", "t0ken"}, []string{"--registry-username", "mode", "--registry-password", "t0ken"}},
		{"distribution", distributionFor(t), nil, nil},
	} {
		t.Run(reg.name, func(t *testing.T) {
			ref := reg.host + "/chains:top"
			// Bad keys: clear errors, nothing pushed.
			for _, bad := range []struct{ key, want string }{
				{modePub, "a public key, not a private key"},
				{filepath.Join(dir, "missing.key"), "missing.key: no such file"},
			} {
				_, e, err := runMode(t, append([]string{"push", "--store", store, "--sign", bad.key, "top", ref}, reg.auth...)...)
				if err == nil || !strings.Contains(e, bad.want) {
					t.Errorf("push --sign %s: %v, stderr %q, want %q", bad.key, err, e, bad.want)
				}
			}
			if resp, err := http.Head("http://" + reg.host + "/v2/chains/manifests/top"); err != nil || resp.StatusCode != http.StatusNotFound {
				t.Fatalf("after the refused pushes the tag answers %v %v, want 404", resp, err)
			}

			d, e, err := runMode(t, append([]string{"push", "--store", store, "--sign", modeKey, "top", ref}, reg.auth...)...)
			d = strings.TrimSpace(d) // the digest, one line
			if err != nil {
				t.Fatalf("push --sign: %v: %s", err, e)
			}
			pinned := reg.host + "/chains@" + d
			if o, e, err := runMode(t, "verify", "--key", modePub, ref); err != nil || !strings.Contains(o, "signed by "+keyID(t, modePub)) {
				t.Errorf("mode verify: %q %v: %s", o, err, e)
			}
			cosignRun(t, cosign, "verify", "--key", modePub, "--insecure-ignore-tlog=true", "--allow-http-registry", pinned)
			if out, err := cosignCmd(t, cosign, "verify", "--key", cosignPub, "--insecure-ignore-tlog=true", "--allow-http-registry", pinned).CombinedOutput(); err == nil {
				t.Errorf("cosign verify with a key that did not sign succeeded: %s", out)
			}
			_, e, err = runMode(t, "verify", "--key", cosignPub, ref)
			if err == nil || !strings.Contains(e, "keys tried: "+cosignID) || !strings.Contains(e, "signed by another key") {
				t.Errorf("mode verify with cosign's key before cosign signed: %v: %s", err, e)
			}
			cosignRun(t, cosign, append([]string{"sign", "--key", cosignKey, "--tlog-upload=false", "--allow-http-registry", "--yes"}, append(reg.cosignAuth, pinned)...)...)
			for _, pub := range []string{cosignPub, modePub} { // cosign's signature went beside mode's
				if o, e, err := runMode(t, "verify", "--key", pub, ref); err != nil {
					t.Errorf("mode verify --key %s after cosign sign: %q %v: %s", filepath.Base(pub), o, err, e)
				}
			}
			// mode pull keeps both signatures in the store it pulls into.
			pulled := t.TempDir()
			if _, e, err := runMode(t, "pull", "--store", pulled, ref); err != nil || !strings.Contains(e, "kept 2 signature(s)") {
				t.Errorf("pull: %v: %s", err, e)
			}
			for _, pub := range []string{cosignPub, modePub} {
				if o, e, err := runMode(t, "verify", "--store", pulled, "--key", pub, "chains:top"); err != nil {
					t.Errorf("mode verify --key %s of the pulled chain: %q %v: %s", filepath.Base(pub), o, err, e)
				}
			}
			// An unsigned chain.
			_, e, err = runMode(t, append([]string{"push", "--store", store, "base", reg.host + "/chains:base"}, reg.auth...)...)
			if err != nil {
				t.Fatalf("push base: %v: %s", err, e)
			}
			if _, e, err := runMode(t, "verify", "--key", modePub, reg.host+"/chains:base"); err == nil || !strings.Contains(e, "no signature found") {
				t.Errorf("verify of an unsigned chain: %v: %s", err, e)
			}
			// cosign's OCI 1.1 mode: a referrer only (the referrers API, or its tag
			// fallback where the registry has none), no .sig tag.
			desc, e, err := runMode(t, append([]string{"push", "--store", store, "base", reg.host + "/chains:base"}, reg.auth...)...)
			desc = strings.TrimSpace(desc) // the digest, one line
			if err != nil {
				t.Fatalf("push base again: %v: %s", err, e)
			}
			cmd := cosignCmd(t, cosign, append([]string{"sign", "--key", cosignKey, "--tlog-upload=false", "--allow-http-registry", "--yes",
				"--registry-referrers-mode=oci-1-1"}, append(reg.cosignAuth, reg.host+"/chains@"+desc)...)...)
			cmd.Env = append(cmd.Env, "COSIGN_EXPERIMENTAL=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("cosign sign (OCI 1.1 referrers): %v\n%s", err, out)
			}
			if o, e, err := runMode(t, "verify", "--key", cosignPub, reg.host+"/chains:base"); err != nil {
				t.Errorf("mode verify of cosign's referrer signature: %q %v: %s", o, err, e)
			}
		})
	}
}

// TestSignStoreChain signs a chain in the local store: mode verify and mode
// tree see it, mode push carries the signature to a registry, cosign
// accepts it there.
func TestSignStoreChain(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: needs cosign and the distribution registry (make tools)")
	}
	cosign := interopTool(t, "cosign")
	dir, store := t.TempDir(), t.TempDir()
	twoChains(t, store)
	if _, e, err := runMode(t, "key", "generate", filepath.Join(dir, "k")); err != nil {
		t.Fatalf("key generate: %v: %s", err, e)
	}
	key, pub := filepath.Join(dir, "k.key"), filepath.Join(dir, "k.pub")
	if _, e, err := runMode(t, "verify", "--store", store, "--key", pub, "top"); err == nil || !strings.Contains(e, "no signature found") {
		t.Errorf("verify before signing: %v: %s", err, e)
	}
	if got := signedMark(store)("top"); got != "" {
		t.Errorf("mode tree marks an unsigned chain %q", got)
	}
	d, e, err := runMode(t, "sign", "--store", store, "--key", key, "top")
	d = strings.TrimSpace(d) // the digest, one line
	if err != nil {
		t.Fatalf("sign: %v: %s", err, e)
	}
	if o, e, err := runMode(t, "verify", "--store", store, "--key", pub, "top"); err != nil || !strings.Contains(o, "top "+d+" signed by "+keyID(t, pub)) {
		t.Errorf("verify: %q %v: %s", o, err, e)
	}
	if got := signedMark(store)("top"); got != "signed (1)" {
		t.Errorf("mode tree marks the signed chain %q", got)
	}
	reg := distributionFor(t)
	pd, e, err := runMode(t, "push", "--store", store, "top", reg+"/signed")
	pd = strings.TrimSpace(pd) // the digest, one line
	if err != nil || pd != d || !strings.Contains(e, "pushed 1 signature(s) of mode:top from the store") {
		t.Fatalf("push: %q %v: %s", pd, err, e)
	}
	cosignRun(t, cosign, "verify", "--key", pub, "--insecure-ignore-tlog=true", "--allow-http-registry", reg+"/signed@"+d)
}

// TestSaveSignBadKey: mode save --push --sign with a bad key stops before
// it saves or pushes anything, naming the key.
func TestSaveSignBadKey(t *testing.T) {
	dir := t.TempDir()
	if _, e, err := runMode(t, "key", "generate", filepath.Join(dir, "k")); err != nil {
		t.Fatalf("key generate: %v: %s", err, e)
	}
	run := t.TempDir() // no booted system: the key is refused before it is looked at
	for _, tc := range []struct{ key, want string }{
		{filepath.Join(dir, "k.pub"), "--sign: private key " + filepath.Join(dir, "k.pub") + ": a public key, not a private key"},
		{filepath.Join(dir, "absent.key"), "absent.key: no such file"},
	} {
		_, e, err := runMode(t, "save", "mine", "--push", "--sign", tc.key, "--run-dir", run, "--out", t.TempDir())
		if err == nil || !strings.Contains(e, tc.want) {
			t.Errorf("save --sign %s: %v, stderr %q, want %q", filepath.Base(tc.key), err, e, tc.want)
		}
	}
	if entries, _ := os.ReadDir(run); len(entries) != 0 {
		t.Errorf("the run directory got %d entries", len(entries))
	}
}

// twoChains adds the chains base and top (two tiny squashfs layers) to the
// repository "mode" of the store at dir, and returns the store and the layers.
func twoChains(t *testing.T, dir string) (*store.Store, []store.Layer) {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ls []store.Layer
	for i, name := range []string{"base", "top"} {
		src := t.TempDir()
		os.WriteFile(filepath.Join(src, name), []byte(name+"\n"), 0o644)
		file := strings.Join([]string{"base", "top"}[:i+1], "-") + ".sqfs"
		p := filepath.Join(t.TempDir(), file)
		if err := squashfs.Squash(ctx, src, p, "gzip"); err != nil {
			t.Fatal(err)
		}
		ls = append(ls, store.Layer{Path: p, Meta: layers.Meta{Name: name, File: file}})
		if _, err := s.AddChain(ctx, "mode", name, ls); err != nil {
			t.Fatal(err)
		}
	}
	return s, ls
}

func cosignCmd(t *testing.T, cosign string, args ...string) *exec.Cmd {
	cmd := exec.Command(cosign, args...)
	cmd.Env = append(os.Environ(), "COSIGN_PASSWORD=", "HOME="+t.TempDir())
	return cmd
}

func cosignRun(t *testing.T, cosign string, args ...string) {
	t.Helper()
	if out, err := cosignCmd(t, cosign, args...).CombinedOutput(); err != nil {
		t.Errorf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func keyID(t *testing.T, pub string) string {
	t.Helper()
	keys, err := trust.LoadPublicKeys(pub)
	if err != nil {
		t.Fatal(err)
	}
	return keys[0].ID
}

// interopTool returns the path of a tool make tools installs ($MODE_TOOLS,
// else .cache/bin of the repository).
func interopTool(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("MODE_TOOLS")
	if dir == "" {
		dir = filepath.Join("..", "..", ".cache", "bin")
	}
	p, _ := filepath.Abs(filepath.Join(dir, name))
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s not found in %s (run make tools): %v", name, dir, err)
	}
	return p
}

// serveFor runs mode serve on the store at dir with a push token until the
// test ends; it returns host:port.
func serveFor(t *testing.T, dir, token string) string {
	t.Helper()
	srv := modeCmd("serve", "--addr", "127.0.0.1:0", "--store", dir, "--push-token", token)
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("mode serve printed no URL: %v", err)
	}
	return strings.TrimPrefix(strings.TrimSpace(line), "http://")
}

// distributionFor runs the CNCF distribution registry until the test ends;
// it returns host:port.
func distributionFor(t *testing.T) string {
	t.Helper()
	bin := interopTool(t, "registry")
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n",
		filepath.Join(dir, "data"), addr)
	os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg), 0o644)
	cmd := exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("distribution registry did not answer within 30s: %s", logs.String())
		}
	}
}
