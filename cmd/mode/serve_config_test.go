package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/urfave/cli/v3"
)

// TestServeConfig: mode serve's --config sets any flag by its name, the
// command line wins, and an unknown key or a bad value is an error naming
// the file, the line and the key.
func TestServeConfig(t *testing.T) {
	type conf struct {
		Addr, Token string
		Uploads     int
		Grace       time.Duration
		Names       []string
		Insecure    bool
	}
	for _, tc := range []struct {
		name, yaml string
		args       []string
		want       conf
		err        string
	}{
		{name: "defaults", yaml: "# nothing\n", want: conf{Addr: "127.0.0.1:5000", Uploads: 64, Grace: 30 * time.Second}},
		{name: "good", yaml: "addr: 0.0.0.0:5000\npush-token: s3cret\nmax-uploads: 8\ngrace: 1m\ntls-name: [registry, 10.1.2.3]\ninsecure: true\n",
			want: conf{"0.0.0.0:5000", "s3cret", 8, time.Minute, []string{"registry", "10.1.2.3"}, true}},
		{name: "flags win", yaml: "addr: 0.0.0.0:5000\nmax-uploads: 8\n", args: []string{"--addr", "127.0.0.1:6000"},
			want: conf{Addr: "127.0.0.1:6000", Uploads: 8, Grace: 30 * time.Second}},
		{name: "unknown key", yaml: "addr: 0.0.0.0:5000\nport: 5000\n", err: `serve.yaml:2: unknown key "port" (the keys are the flags: store, addr,`},
		{name: "bad value", yaml: "\ngrace: soon\n", err: `serve.yaml:2: grace: bad value "soon"`},
		{name: "bad number", yaml: "max-uploads: many\n", err: `serve.yaml:1: max-uploads: bad value "many": invalid syntax`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "serve.yaml")
			if err := os.WriteFile(file, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := parseServe(append([]string{"--config", file}, tc.args...))
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(strings.ReplaceAll(err.Error(), file, "serve.yaml"), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := conf{c.String("addr"), c.String("push-token"), c.Int("max-uploads"), c.Duration("grace"), c.StringSlice("tls-name"), c.Bool("insecure")}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("flags (-want +got):\n%s", diff)
			}
		})
	}
}

// TestServeArgs: what SIGHUP parses again is what followed "serve".
func TestServeArgs(t *testing.T) {
	got := serveArgs([]string{"/usr/bin/mode", "-v", "serve", "--config", "/etc/mode/serve.yaml"})
	if diff := cmp.Diff([]string{"--config", "/etc/mode/serve.yaml"}, got); diff != "" {
		t.Error(diff)
	}
}

// TestDiffFlags: a reload sorts what changed into what applies at once and
// what waits for a restart; a flag not known to apply live waits.
func TestDiffFlags(t *testing.T) {
	dir := t.TempDir()
	parse := func(yaml string) *cli.Command {
		file := filepath.Join(dir, "serve.yaml")
		if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := parseServe([]string{"--config", file})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := parse("addr: 127.0.0.1:5000\npush-token: a\ntls-name: [x]\nmax-reports: 10\n")
	b := parse("addr: 0.0.0.0:5000\npush-token: b\ntls-name: [x, y]\nmax-reports: 10\ngrace: 1m\nreports-db: /tmp/r.db\n")
	live, restart := diffFlags(a, b)
	if diff := cmp.Diff([]string{"push-token", "tls-name", "grace"}, live, cmpopts.SortSlices(func(x, y string) bool { return x < y })); diff != "" {
		t.Errorf("live (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"addr", "reports-db"}, restart, cmpopts.SortSlices(func(x, y string) bool { return x < y })); diff != "" {
		t.Errorf("restart (-want +got):\n%s", diff)
	}
}
