package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/internal/registrytest"
	"github.com/mode-build/mode/registry/store"
)

// TestServeTLSAuto: mode serve --tls auto makes a site CA beside the store
// and serves HTTPS; mode push and pull with --ca move a chain; without the
// CA the pull is refused.
func TestServeTLSAuto(t *testing.T) {
	built, served := t.TempDir(), t.TempDir()
	s, err := store.Open(built)
	if err != nil {
		t.Fatal(err)
	}
	ls := registrytest.Chain(t, []string{"base", "top"}, 0)
	d, err := s.AddChain(context.Background(), "site", "top", ls)
	if err != nil {
		t.Fatal(err)
	}
	url := startServe(t, "--store", served, "--push-token", "t0ken", "--tls", "auto")
	host, ok := strings.CutPrefix(url, "https://")
	if !ok {
		t.Fatalf("mode serve --tls auto printed %q, want an https URL", url)
	}
	ca := filepath.Join(served, "tls", "ca.crt")
	run := func(args ...string) (string, string, error) { // stdout's one line
		o, e, err := runMode(t, args...)
		return strings.TrimSpace(o), e, err
	}
	got, stderr, err := run("push", "--store", built, "--token", "t0ken", "--ca", ca, "site:top", host+"/site/tiny")
	if err != nil || got != string(d) {
		t.Fatalf("push --ca: %q, %v: %s", got, err, stderr)
	}
	got, stderr, err = run("pull", "--store", t.TempDir(), "--ca", ca, host+"/site/tiny:top")
	if err != nil || got != string(d) {
		t.Fatalf("pull --ca: %q, %v: %s", got, err, stderr)
	}
	if _, stderr, err := run("pull", "--store", t.TempDir(), host+"/site/tiny:top"); err == nil || !strings.Contains(stderr, "certificate") {
		t.Errorf("pull without the CA: %v: %s", err, stderr)
	}
}
