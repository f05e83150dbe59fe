package qemu_test

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/internal/testutil"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// TestTinyOverHTTPS boots examples/tiny from a registry serving HTTPS with a
// site CA (serve.AutoTLS, what mode serve --tls auto runs), the CA put in the
// initramfs by mode initramfs --ca: the init pulls over HTTPS (no
// mode.insecure), and the guest's mode save --push publishes over HTTPS
// trusting the CA the init handed on. A client without the CA is refused.
func TestTinyOverHTTPS(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresQEMU(t)
	dir := filepath.Join(t.TempDir(), "store")
	testutil.BuildTiny(t, filepath.Join(t.TempDir(), "out"), dir)
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	tlsDir := filepath.Join(dir, "tls")
	cfg, err := serve.AutoTLS(tlsDir, serve.SiteNames("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	const token = "https-guest-token"
	srv := httptest.NewUnstartedServer(serve.New(s, serve.WithPushToken(token)).Handler())
	srv.TLS = cfg
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused client's handshake errors
	srv.StartTLS()
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	reg := "10.0.2.2:" + u.Port()

	_, _, err = remote.Pull(context.Background(), u.Host+"/tiny:extra", t.TempDir(), remote.WithRetries(0, 0))
	if unknown := (x509.UnknownAuthorityError{}); !errors.As(err, &unknown) {
		t.Errorf("a client without the site CA: %v, want an unknown authority error", err)
	}

	bins := testutil.Binaries(t)
	initrd := filepath.Join(t.TempDir(), "initrd.img")
	ca := filepath.Join(tlsDir, serve.CACertFile)
	cmd := exec.Command(filepath.Join(bins, "mode"), "initramfs", "--ca", ca, "--init", filepath.Join(bins, "mode-init"),
		"-k", testutil.Kernel(t).Deb, "-o", initrd)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mode initramfs --ca: %v\n%s", err, out)
	}
	change := scriptDisk(t, `
echo over-https > /root/https.txt
grep -q "BEGIN CERTIFICATE" /run/mode/ca.crt || echo "no site CA in /run/mode"
if /run/mode/bin/mode save https --push; then echo MODE-SAVE-PUSHED; else echo MODE-SAVE-FAILED; fi
`)
	m := machine(t, "mode.ref="+reg+"/tiny:extra mode.token="+token+" tiny.run=/dev/vda", change)
	m.Initrd, m.Network = initrd, true
	res := bootFor(t, m, "MODE-SAVE-PUSHED", 4*time.Minute, "MODE-SAVE-FAILED", "MODE-TINY-FAIL")
	if want := "pushed " + reg + "/tiny:https sha256:"; !strings.Contains(res.Console, want) {
		t.Errorf("console lacks %q:\n%s", want, res.Console)
	}
	if strings.Contains(res.Console, "mode.insecure") || strings.Contains(res.Console, "no site CA") {
		t.Errorf("the boot was not HTTPS with the CA:\n%s", res.Console)
	}
	if _, _, _, err := s.Chain("tiny", "https"); err != nil {
		t.Errorf("the guest's push over HTTPS: %v", err)
	}
}
