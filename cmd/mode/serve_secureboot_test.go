package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mode-build/mode/boot/uki"
	"github.com/urfave/cli/v3"
)

// TestServeSecureBootFlags: --secure-boot-key without its certificate, and
// a key with another key's certificate, stop mode serve before it serves,
// saying which.
func TestServeSecureBootFlags(t *testing.T) {
	dir := t.TempDir()
	a, err := uki.WriteKey(filepath.Join(dir, "a"), "a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := uki.WriteKey(filepath.Join(dir, "b"), "b")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"key alone", []string{"--secure-boot-key", a.Key}, "--secure-boot-key and --secure-boot-cert go together"},
		{"cert alone", []string{"--secure-boot-cert", a.Cert}, "--secure-boot-key and --secure-boot-cert go together"},
		{"another's cert", []string{"--secure-boot-key", a.Key, "--secure-boot-cert", b.Cert}, "is not the key of certificate " + b.Cert},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a serve that starts would run until then
			defer cancel()
			var out bytes.Buffer
			app := &cli.Command{Name: "mode", Writer: &out, ErrWriter: &out, Commands: []*cli.Command{serveCommand()}}
			err := app.Run(ctx, append([]string{"mode", "serve", "--store", filepath.Join(t.TempDir(), "store"), "--addr", "127.0.0.1:0"}, tc.args...))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}
