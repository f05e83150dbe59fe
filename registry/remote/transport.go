package remote

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// parseRef parses a reference HOST[:PORT]/REPO[:TAG|@sha256:…]. A reference
// without tag or digest gets defTag (an error when defTag is empty).
func parseRef(ref, defTag string, o *options) (name.Reference, error) {
	var nopts []name.Option
	if o.insecure || isLoopback(ref) {
		nopts = append(nopts, name.Insecure)
	}
	if !strings.Contains(ref, "@") && !strings.Contains(ref[strings.LastIndex(ref, "/")+1:], ":") {
		if defTag == "" {
			return nil, fmt.Errorf("ref %q: no tag or digest", ref)
		}
		ref += ":" + defTag
	}
	r, err := name.ParseReference(ref, append(nopts, name.StrictValidation)...)
	if err != nil {
		return nil, fmt.Errorf("ref %q: %w", ref, err)
	}
	return r, nil
}

// isLoopback reports whether the registry host of ref is a loopback address.
func isLoopback(ref string) bool {
	host := ref
	if i := strings.Index(host, "/"); i >= 0 {
		host = host[:i]
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// guard refuses plain HTTP unless it is allowed, so that HTTPS is the default
// even where go-containerregistry would fall back (private address ranges).
type guard struct {
	inner     http.RoundTripper
	allowHTTP bool
}

func (g guard) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme == "http" && !g.allowHTTP && !isLoopback(r.URL.Host) {
		return nil, fmt.Errorf("%s: plain HTTP refused (use --insecure)", r.URL.Host)
	}
	return g.inner.RoundTrip(r)
}

// authenticator returns the credentials for repo.
func (o *options) authenticator(repo name.Repository) (authn.Authenticator, error) {
	if o.auth != nil {
		return o.auth, nil
	}
	a, err := o.keychain.Resolve(repo)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", repo.RegistryStr(), err)
	}
	return a, nil
}

// baseTransport is the transport under authentication.
func (o *options) baseTransport() http.RoundTripper {
	return guard{inner: o.transport, allowHTTP: o.insecure}
}

// client returns an HTTP client authenticated for repo with scope, retrying
// while the registry cannot be reached.
func (o *options) client(ctx context.Context, repo name.Repository, scope string) (*http.Client, error) {
	auth, err := o.authenticator(repo)
	if err != nil {
		return nil, err
	}
	var rt http.RoundTripper
	err = o.retry(ctx, "connect to "+repo.RegistryStr(), func() error {
		var err error
		rt, err = transport.NewWithContext(ctx, repo.Registry, auth, o.baseTransport(), []string{repo.Scope(scope)})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: rt}, nil
}

// CATransport returns a transport that trusts the CA certificates of the PEM
// file caFile besides the system's, such as the site CA of mode serve --tls auto.
func CATransport(caFile string) (*http.Transport, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("CA certificates: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA certificates: %s holds no PEM certificate", caFile)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return t, nil
}
