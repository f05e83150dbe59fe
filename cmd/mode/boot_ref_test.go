package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mode-build/mode/layers"
	"github.com/mode-build/mode/registry/store"
)

func TestBootRef(t *testing.T) {
	for _, tc := range []struct {
		arg, ref string
		insecure bool
	}{
		{"localhost:5000/mode:console", "10.0.2.2:5000/mode:console", true},
		{"127.0.0.1:5000/tiny:extra", "10.0.2.2:5000/tiny:extra", true},
		{"registry.example.org/mode/tiny:extra", "registry.example.org/mode/tiny:extra", false},
		{"10.0.2.2:5000/x@sha256:00", "10.0.2.2:5000/x@sha256:00", false},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			ref, insecure, stop, err := bootRef(context.Background(), tc.arg, t.TempDir(), "")
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			if ref != tc.ref || insecure != tc.insecure {
				t.Errorf("bootRef(%s) = %s, %v; want %s, %v", tc.arg, ref, insecure, tc.ref, tc.insecure)
			}
		})
	}
}

func TestBootRefLocalChain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	if _, _, _, err := bootRef(context.Background(), "console", dir, ""); err == nil ||
		!strings.Contains(err.Error(), "not a registry reference nor a chain of the store") {
		t.Fatalf("error %v", err)
	}
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	layer := filepath.Join(t.TempDir(), "base.sqfs")
	if err := os.WriteFile(layer, []byte("not really squashfs"), 0o644); err != nil {
		t.Fatal(err)
	}
	meta := layers.Meta{Name: "base", Chain: []string{"base"}, File: "base.sqfs", Compression: "zstd"}
	if _, err := s.AddChain(context.Background(), "mode", "base", []store.Layer{{Path: layer, Meta: meta}}); err != nil {
		t.Fatal(err)
	}
	ref, insecure, stop, err := bootRef(context.Background(), "base", dir, "tok")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	host, rest, _ := strings.Cut(ref, "/")
	if !insecure || !strings.HasPrefix(host, "10.0.2.2:") || rest != "mode:base" {
		t.Fatalf("ref %s insecure %v", ref, insecure)
	}
	// The guest's 10.0.2.2 is the host's loopback.
	resp, err := http.Get("http://127.0.0.1:" + strings.TrimPrefix(host, "10.0.2.2:") + "/v2/mode/manifests/base")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the served store answered %s for the chain's manifest", resp.Status)
	}
	// Pushes (mode save --push in the guest) need the boot's token.
	for token, want := range map[string]int{"tok": http.StatusAccepted, "": http.StatusUnauthorized, "wrong": http.StatusUnauthorized} {
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:"+strings.TrimPrefix(host, "10.0.2.2:")+"/v2/mode/blobs/uploads/", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("upload start with token %q: %s, want %d", token, resp.Status, want)
		}
	}
}
