package remote

import (
	"net/http"
	"strings"
	"testing"
)

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		ref  string
		want bool
	}{
		{"localhost:5000/x:y", true},
		{"127.0.0.1:5000/x", true},
		{"127.1.2.3/x", true},
		{"[::1]:5000/x", true},
		{"10.0.2.2:5000/x", false},
		{"192.168.1.1/x", false},
		{"example:5000/x", false},
		{"localhost.example/x", false},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			if got := isLoopback(tt.ref); got != tt.want {
				t.Errorf("isLoopback(%q) = %v, want %v", tt.ref, got, tt.want)
			}
		})
	}
}

// TestPlainHTTPRefused: without --insecure only loopback hosts get plain HTTP,
// even for private addresses where go-containerregistry would fall back to it.
func TestPlainHTTPRefused(t *testing.T) {
	tests := []struct {
		url      string
		insecure bool
		refused  bool
	}{
		{"http://10.0.2.2:5000/v2/", false, true},
		{"http://192.168.0.10/v2/", false, true},
		{"http://10.0.2.2:5000/v2/", true, false},
		{"http://127.0.0.1:1/v2/", false, false},
		{"https://10.0.2.2:1/v2/", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			g := guard{inner: roundTripFunc(func(*http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: http.StatusTeapot, Body: http.NoBody}, nil
			}), allowHTTP: tt.insecure}
			req, _ := http.NewRequest("GET", tt.url, nil)
			_, err := g.RoundTrip(req)
			if refused := err != nil && strings.Contains(err.Error(), "plain HTTP refused"); refused != tt.refused {
				t.Errorf("refused = %v (%v), want %v", refused, err, tt.refused)
			}
		})
	}
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		ref, defTag, want, scheme string
		insecure                  bool
		err                       string
	}{
		{"127.0.0.1:5000/m:top", "", "127.0.0.1:5000/m:top", "http", false, ""},
		{"127.0.0.1:5000/m", "top", "127.0.0.1:5000/m:top", "http", false, ""},
		{"host.example/m", "", "", "", false, "no tag or digest"},
		{"host.example/a/b:t", "", "host.example/a/b:t", "https", false, ""},
		{"host.example/a/b:t", "", "host.example/a/b:t", "http", true, ""},
		{"host.example/a/b@sha256:" + strings.Repeat("a", 64), "", "host.example/a/b@sha256:" + strings.Repeat("a", 64), "https", false, ""},
		{"host.example/UPPER:t", "", "", "", false, "could not parse reference"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			r, err := parseRef(tt.ref, tt.defTag, &options{insecure: tt.insecure})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseRef: %v, want an error saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Name() != tt.want || r.Context().Scheme() != tt.scheme {
				t.Errorf("parseRef = %s (%s), want %s (%s)", r.Name(), r.Context().Scheme(), tt.want, tt.scheme)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
