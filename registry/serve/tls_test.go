package serve_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/registry/remote"
	"github.com/mode-build/mode/registry/serve"
	"github.com/mode-build/mode/registry/store"
)

// TestAutoTLS: the site CA is made once and kept; a client that trusts it
// pushes and pulls over HTTPS; a client that does not is refused by TLS.
func TestAutoTLS(t *testing.T) {
	ctx := context.Background()
	src, ls := registrytest.Store(t, []string{"base", "top"}, 32<<10)
	served, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(served.Dir(), "tls")
	cfg, err := serve.AutoTLS(dir, serve.SiteNames("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, serve.CACertFile)
	caPEM, _ := os.ReadFile(ca)
	if fi, err := os.Stat(filepath.Join(dir, "ca.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("CA key: %v, %v; want mode 0600", fi, err)
	}
	// Again with one more name: the same CA, a new server certificate for it.
	cfg2, err := serve.AutoTLS(dir, serve.SiteNames("127.0.0.1:0", "registry.site.example"))
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(ca); !bytes.Equal(again, caPEM) {
		t.Error("the site CA changed")
	}
	leaf := cfg2.Certificates[0].Leaf
	if err := leaf.VerifyHostname("registry.site.example"); err != nil {
		t.Errorf("server certificate: %v", err)
	}
	if bytes.Equal(cfg.Certificates[0].Certificate[0], cfg2.Certificates[0].Certificate[0]) {
		t.Error("the server certificate was not made again for the new name")
	}

	srv := httptest.NewUnstartedServer(serve.New(served, serve.WithPushToken("tok")).Handler())
	srv.TLS = cfg2
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused client's handshake errors
	srv.StartTLS()
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "https://")

	trusting, err := remote.CATransport(ca)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Push(ctx, registrytest.Source(t, src, "top"), host+"/site/tiny",
		remote.WithTransport(trusting), remote.WithAuth(&authn.Bearer{Token: "tok"}))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, got, err := remote.Pull(ctx, host+"/site/tiny:top", out, remote.WithTransport(trusting)); err != nil || got != d {
		t.Fatalf("pull over HTTPS: %s, %v; want %s", got, err, d)
	}
	for _, l := range ls {
		registrytest.SameFile(t, l.Path, filepath.Join(out, l.Meta.File))
	}
	_, _, err = remote.Pull(ctx, host+"/site/tiny:top", t.TempDir(), remote.WithRetries(0, 0))
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("pull without the CA: %v, want an unknown authority error", err)
	}
}
