package main

import (
	"bufio"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/registrytest"
)

// TestServeTLSBootAddr: mode serve --tls auto --boot-addr serves boot.ipxe
// over plain HTTP; its script fetches the kernel and initramfs over plain
// HTTP there and sets mode.ref to the HTTPS site without mode.insecure.
func TestServeTLSBootAddr(t *testing.T) {
	s, _ := registrytest.Store(t, []string{"base"}, 0)
	srv := modeCmd("serve", "--store", s.Dir(), "--addr", "127.0.0.1:0", "--tls", "auto", "--boot-addr", "127.0.0.1:0",
		"--advertise", "127.0.0.1", "--boot-chain", "base")
	stdout, _ := srv.StdoutPipe()
	stderr, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("mode serve printed no URL: %v", err)
	}
	tlsPort := url[strings.LastIndex(url, ":")+1 : len(url)-1]
	var boot string
	re := regexp.MustCompile(`boot\.ipxe: (http://\S+)\)`)
	timeout := time.After(time.Minute)
	for boot == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("mode serve ended")
			}
			if m := re.FindStringSubmatch(l); m != nil {
				boot = m[1]
			}
		case <-timeout:
			t.Fatal("mode serve named no plain-HTTP boot.ipxe")
		}
	}
	resp, err := http.Get(boot + "?mac=52:54:00:00:00:01")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	script, bootHost := string(b), strings.TrimSuffix(strings.TrimPrefix(boot, "http://"), "/boot/boot.ipxe")
	for _, want := range []string{"kernel http://" + bootHost + "/boot/chain/" + registrytest.Repo + "/base/vmlinuz ", "mode.ref=127.0.0.1:" + tlsPort + "/" + registrytest.Repo + ":base\n", "initrd --name initrd.img http://" + bootHost + "/boot/chain/" + registrytest.Repo + "/base/initrd.img"} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q:\n%s", want, script)
		}
	}
	if strings.Contains(script, "mode.insecure") {
		t.Errorf("a TLS site's script sets mode.insecure:\n%s", script)
	}
}
